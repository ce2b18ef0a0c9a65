"""Untrusted text, made safe: for a terminal (`terminal`) and inside prompts (`fencing`)."""

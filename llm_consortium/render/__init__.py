"""Turning traces and listings into what people read: text, HTML, terminal-safe strings."""

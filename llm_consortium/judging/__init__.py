"""Asking for and reading judgements: the prompts, the arbiter's tagged verdict
(`arbiter_reply`: read whole or as it streams), and counting like answers when members vote."""

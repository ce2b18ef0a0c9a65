"""Asking for and reading judgements: the prompts, the arbiter's tagged verdict (whole or
as it streams), and counting like answers when members vote."""

"""Saved consortiums: the name rule, the YAML schema, reading a file safely, the folder
they live in, and the refusal of consortiums that would call themselves."""

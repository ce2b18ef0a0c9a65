"""Structured answers (`llm --schema`): checking JSON against the schema, finding JSON in
replies, and the answer format a run uses (free text or JSON)."""

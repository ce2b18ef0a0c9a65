"""The one place this plugin reaches into parts of `llm` that are not its public API.

Reading runs back needs llm's own log reader: llm stores `response_json` condensed
(long strings become references to the turn's messages) and only `llm.logs` knows
how to resolve it. Nothing public offers that, so the private names are imported
here and nowhere else, and tests/test_llm_internals.py fails loudly, naming what
moved, when an llm release changes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import llm
from llm.logs import LogStore, log_rows

__all__ = ["LOGS_DB_NAME", "LogStore", "logs_db_path", "logs_on", "resolved_rows"]

LOGS_DB_NAME = "logs.db"


def logs_db_path() -> Path:
    """Where llm keeps its logs: `logs.db` in its user directory (what `llm logs path`
    prints; llm.cli.logs_db_path is not public, the rule is)."""
    return llm.user_dir() / LOGS_DB_NAME


def logs_on() -> bool:
    """Whether llm logs prompts: not after `llm logs off`, which leaves a `logs-off`
    file in its user directory (llm.cli.logs_on is not public, the rule is)."""
    return not (llm.user_dir() / "logs-off").exists()


def resolved_rows(store: LogStore, ids: Iterable[str]) -> Iterator[dict[str, Any]]:
    """llm's own rows for these response ids, with condensed payloads resolved."""
    return iter(log_rows(store, ids=list(ids)))

"""Where finished eval results live: an SQLite file in the llm user directory.

Every (item, system) result is written the moment it finishes, keyed by the item's
content, the system and a digest of the consortium's settings, so an eval that is
interrupted, or simply run again, can reuse everything already paid for. Keying by
each item's content rather than the whole file's means adding or editing items
re-runs only those, while changing the consortium changes every key: nothing stale
is reused.
Judge verdicts are kept the same way, keyed by the judge model and its exact prompt.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import files

FILE_NAME = "consortium-evals.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    item TEXT NOT NULL,
    settings TEXT NOT NULL,
    system TEXT NOT NULL,
    data TEXT NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (item, settings, system)
);
CREATE TABLE IF NOT EXISTS judgements (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    finished TEXT NOT NULL
);
"""


def digest(value: Any) -> str:
    """A stable sha256 of any JSON-ready value (keys sorted)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResultStore:
    """The results database; safe to use from several threads (one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        files.check_database(self.path)  # not a FIFO, a device or a link out of its folder
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, item: str, settings: str, system: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM results WHERE item=? AND settings=? AND system=?", (item, settings, system)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, item: str, settings: str, system: str, data: dict[str, Any]) -> None:
        """Store one finished result, committed at once (an interrupt keeps it)."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                (item, settings, system, json.dumps(data), _now()),
            )

    def count(self) -> int:
        """Results stored, over every dataset and system."""
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM results").fetchone()
        return int(n)

    def judgement(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM judgements WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_judgement(self, key: str, data: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO judgements VALUES (?, ?, ?)", (key, json.dumps(data), _now())
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

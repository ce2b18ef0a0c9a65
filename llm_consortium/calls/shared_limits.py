"""A provider's slots and learned limit, shared by every process of the user.

Eight `llm -m panel` processes started by `xargs -P 8` each learning a provider's
limit alone send far more than it takes: every process probes, is refused, backs off
and probes again. So the per-model state that matters across processes lives in one
small SQLite file in the llm user directory (WAL, short transactions): per model the
learned limit (AIMD, as `gate.ModelGate` does in one process), and one *lease* row per
call in flight. A call starts only when the model's leases are fewer than its limit.

What a crash leaves behind: a process killed while holding leases leaves its rows, and
the next process to look at that model deletes them, because their pid (on this host)
no longer runs; rows of another host (a shared home) expire after `LEASE_SECONDS`.
A learned limit is forgotten an hour after the provider last refused a call, so a
limit learned during an outage does not throttle tomorrow's runs.

Every operation is one short transaction; any SQLite or OS error (a corrupt or locked
file, a read-only directory) is raised as `SharedStateError` for the gate to fall back
to its per-process state. Nothing here knows of `llm`: the adapter gives the path.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConsortiumError

T = TypeVar("T")

FILE_NAME = "consortium-limits.db"
LEASE_SECONDS = 900.0  # a lease of another host is dropped after this
FORGET_AFTER = 3600.0  # a learned limit is forgotten this long after the last refusal
BUSY_MS = 10_000  # how long one transaction may wait for another (a starved machine can hold one for seconds)

_SCHEMA = """
create table if not exists limits (
    model text primary key,
    adaptive integer,            -- null: no refusal seen (unlimited)
    lowest integer,
    epoch integer not null default 0,
    window integer not null default 0,
    refused integer not null default 0,
    successes integer not null default 0,
    refused_at real
);
create table if not exists leases (
    id integer primary key,
    model text not null,
    host text not null,
    pid integer not null,
    epoch integer not null,
    expires real not null
);
create index if not exists leases_model on leases(model);
"""


_SETUP = threading.Lock()


class SharedStateError(ConsortiumError):
    """The shared state file cannot be used; the gate falls back to its own state."""


@dataclass(frozen=True)
class Lease:
    id: int
    model: str
    epoch: int  # the limit's epoch when granted: one burst of refusals halves once


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


class SharedLimits:
    """The shared state in `path`; see the module docstring. Thread-safe: each thread
    uses its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.host = socket.gethostname()
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            with _SETUP:  # one connection set up at a time in this process
                db = self._connect()
            self._local.db = db
        return db

    def _connect(self) -> sqlite3.Connection:
        """A connection with the file in WAL mode and the tables made. Switching to WAL
        does not wait for a busy file as statements do, so a first-ever setup racing
        another process's is tried again for a while before it counts as locked."""
        for attempt in range(1, 41):
            db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
            try:
                if db.execute("pragma journal_mode").fetchone()[0] != "wal":
                    db.execute("pragma journal_mode=wal")
                db.execute("pragma synchronous=normal")
                db.executescript(_SCHEMA)
                return db
            except sqlite3.OperationalError as ex:
                db.close()
                if ("locked" not in str(ex) and "busy" not in str(ex)) or attempt == 40:
                    raise
                time.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            db = self._db()
            db.execute("begin immediate")
            try:
                result = work(db)
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")
            return result
        except (sqlite3.Error, OSError) as ex:
            self._local.db = None
            raise SharedStateError(f"{self.path}: {ex}") from ex

    def _row(self, db: sqlite3.Connection, model: str) -> tuple[Any, ...]:
        db.execute("insert or ignore into limits (model) values (?)", (model,))
        row = db.execute(
            "select adaptive, lowest, epoch, window, refused, successes, refused_at from limits where model = ?",
            (model,),
        ).fetchone()
        adaptive, refused_at = row[0], row[6]
        if adaptive is not None and refused_at is not None and time.time() - refused_at > FORGET_AFTER:
            db.execute("update limits set adaptive = null, successes = 0 where model = ?", (model,))
            return (None, *row[1:])
        return tuple(row)

    def _purge(self, db: sqlite3.Connection, model: str) -> int:
        """Drop the leases of processes that are gone; the number left."""
        now = time.time()
        rows = db.execute("select id, host, pid, expires from leases where model = ?", (model,)).fetchall()
        dead = [lid for lid, host, pid, expires in rows if expires < now or (host == self.host and not _alive(pid))]
        db.executemany("delete from leases where id = ?", [(lid,) for lid in dead])
        return len(rows) - len(dead)

    def try_lease(self, model: str) -> Lease | None:
        """A lease when the model has room under its shared limit, else None."""

        def work(db: sqlite3.Connection) -> Lease | None:
            adaptive, _, epoch, *_ = self._row(db, model)
            held = self._purge(db, model)
            if adaptive is not None and held >= adaptive:
                return None
            cursor = db.execute(
                "insert into leases (model, host, pid, epoch, expires) values (?, ?, ?, ?, ?)",
                (model, self.host, os.getpid(), epoch, time.time() + LEASE_SECONDS),
            )
            return Lease(int(cursor.lastrowid or 0), model, epoch)

        return self._transaction(work)

    def release(self, lease: Lease) -> None:
        self._transaction(lambda db: db.execute("delete from leases where id = ?", (lease.id,)))

    def rate_limited(self, lease: Lease | None, model: str) -> tuple[int | None, int | None]:
        """A refusal: halve the shared limit once per burst (as `ModelGate` does).
        Returns (the limit now, the lowest it went), as `limits` does."""

        def work(db: sqlite3.Connection) -> tuple[int | None, int | None]:
            adaptive, lowest, epoch, window, refused, _, _ = self._row(db, model)
            if lease is not None and lease.epoch < epoch:
                refused += 1
                adaptive = max(1, min(adaptive or 1, window - refused))
            else:
                held = db.execute("select count(*) from leases where model = ?", (model,)).fetchone()[0]
                base = held if adaptive is None else min(adaptive, max(held, 1))
                base = max(base, 1)
                window, refused, epoch = base, 1, epoch + 1
                adaptive = max(1, min(math.ceil(base / 2), base - 1))
            lowest = adaptive if lowest is None else min(lowest, adaptive)
            db.execute(
                "update limits set adaptive = ?, lowest = ?, epoch = ?, window = ?, refused = ?, successes = 0,"
                " refused_at = ? where model = ?",
                (adaptive, lowest, epoch, window, refused, time.time(), model),
            )
            return adaptive, lowest

        return self._transaction(work)

    def succeeded(self, model: str) -> None:
        """A success while the limit held calls back: grow by one per limit's worth."""

        def work(db: sqlite3.Connection) -> None:
            adaptive, *_, successes, _ = self._row(db, model)
            if adaptive is None:
                return
            held = db.execute("select count(*) from leases where model = ?", (model,)).fetchone()[0]
            if held < adaptive:
                return
            successes += 1
            if successes >= adaptive:
                adaptive, successes = adaptive + 1, 0
            db.execute("update limits set adaptive = ?, successes = ? where model = ?", (adaptive, successes, model))

        self._transaction(work)

    def limits(self, model: str) -> tuple[int | None, int | None]:
        """(the shared limit now, the lowest it went), None when unknown."""
        adaptive, lowest = self._transaction(lambda db: self._row(db, model)[:2])
        return adaptive, lowest

"""A provider's slots and learned limit, shared by every process of the user.

Eight `llm -m panel` processes started by `xargs -P 8` each learning a provider's
limit alone send far more than it takes: every process probes, is refused, backs off
and probes again. So the per-model state that matters across processes lives in one
small SQLite file in the llm user directory (WAL, short transactions): per model its
`window.Window` (slow start, then the learned limit), and one *lease* row per call in
flight. A call starts only when the model's leases leave room in its window.

What a crash leaves behind: a process killed while holding leases leaves its rows, and
the next process to look at that model deletes them, because their pid (on this host)
no longer runs; rows of another host (a shared home) expire after `LEASE_SECONDS`.
A learned limit is forgotten an hour after the provider last refused a call
(`window.FORGET_AFTER`). A file that is not a database (a crash mid-write on a
failing disk, or anything written over it) holds nothing worth keeping: it is
replaced by a fresh one, with one warning; when it cannot be, the error names it.

Every change is one short transaction (a look, `looks_free`, is a plain read that
waits for no writer); any SQLite or OS error (a corrupt or locked
file, a read-only directory) is raised as `SharedStateError` for the gate to fall back
to its per-process state. Nothing here knows of `llm`: the adapter gives the path.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeVar

from .. import files
from ..errors import ConsortiumError
from .window import SHARED_INITIAL, Window

T = TypeVar("T")

logger = logging.getLogger(__name__)

FILE_NAME = "consortium-limits.db"
LEASE_SECONDS = 900.0  # a lease of another host is dropped after this
BUSY_MS = 10_000  # how long one transaction may wait for another (a starved machine can hold one for seconds)

_FIELDS = [field.name for field in fields(Window)]
_SCHEMA = f"""
create table if not exists windows (
    model text primary key,
    {", ".join(_FIELDS)}  -- a `window.Window`, column for field
);
create table if not exists leases (
    id integer primary key autoincrement, -- never reused: a late release deletes only its own row
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
    limit: int | None = None  # the learned limit when granted (None: never refused)
    lowest: int | None = None  # the lowest it went


def _not_a_database(ex: sqlite3.DatabaseError) -> bool:
    text = str(ex)
    return "not a database" in text or "malformed" in text


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
                try:
                    db = self._connect()
                except sqlite3.DatabaseError as ex:
                    if not _not_a_database(ex):
                        raise
                    self._replace(ex)
                    db = self._connect()
            self._local.db = db
        return db

    def _replace(self, problem: sqlite3.DatabaseError) -> None:
        """Delete a state file that is not a database (it only held learned limits),
        so the next connection makes a fresh one; when it cannot be deleted, the
        error says which file to delete."""
        try:
            for path in (self.path, *(self.path.with_name(self.path.name + end) for end in ("-wal", "-shm"))):
                path.unlink(missing_ok=True)
        except OSError as ex:
            raise SharedStateError(f"{self.path}: {problem}; delete that file to share rate limits again") from ex
        logger.warning("Consortium: %s was not a database: replaced it with a fresh one", self.path)

    def _connect(self) -> sqlite3.Connection:
        """A connection with the file in WAL mode and the tables made. Switching to WAL
        does not wait for a busy file as statements do, so a first-ever setup racing
        another process's is tried again for a while before it counts as locked."""
        files.check_database(self.path)  # a FIFO or a device there would hang SQLite
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

    def _transaction(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        """`work(db)` in one transaction (`write=False`: plain reads, which in WAL
        mode wait for no writer); any SQLite or OS error as `SharedStateError`."""
        try:
            db = self._db()
            if not write:
                return work(db)
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

    def _window(self, db: sqlite3.Connection, model: str) -> Window:
        """The model's window (fresh when none is stored), forgotten when stale."""
        row = db.execute(f"select {', '.join(_FIELDS)} from windows where model = ?", (model,)).fetchone()
        window = Window(SHARED_INITIAL) if row is None else Window(**dict(zip(_FIELDS, row, strict=True)))
        window.learned = bool(window.learned)
        window.forget_if_stale(time.time(), SHARED_INITIAL)
        return window

    def _save(self, db: sqlite3.Connection, model: str, window: Window) -> None:
        values = [getattr(window, name) for name in _FIELDS]
        db.execute(
            f"insert or replace into windows (model, {', '.join(_FIELDS)}) values (?{', ?' * len(_FIELDS)})",
            (model, *values),
        )

    def _purge(self, db: sqlite3.Connection, model: str) -> int:
        """Drop the leases of processes that are gone; the number left."""
        now = time.time()
        rows = db.execute("select id, host, pid, expires from leases where model = ?", (model,)).fetchall()
        dead = [lid for lid, host, pid, expires in rows if expires < now or (host == self.host and not _alive(pid))]
        db.executemany("delete from leases where id = ?", [(lid,) for lid in dead])
        return len(rows) - len(dead)

    def _held(self, db: sqlite3.Connection, model: str) -> int:
        return int(db.execute("select count(*) from leases where model = ?", (model,)).fetchone()[0])

    def try_lease(self, model: str) -> Lease | None:
        """A lease when the model's leases leave room in its shared window, else None."""

        def work(db: sqlite3.Connection) -> Lease | None:
            window = self._window(db, model)
            if not window.has_room(self._purge(db, model)):
                return None
            cursor = db.execute(
                "insert into leases (model, host, pid, epoch, expires) values (?, ?, ?, ?, ?)",
                (model, self.host, os.getpid(), window.epoch, time.time() + LEASE_SECONDS),
            )
            return Lease(int(cursor.lastrowid or 0), model, window.epoch, window.limit, window.lowest)

        return self._transaction(work)

    def looks_free(self, model: str) -> bool:
        """Whether the model's window seems to have room, read without taking the
        write lock (WAL readers never wait): cheap enough to poll often, between
        `try_lease` calls, which claim the room and drop dead processes' leases."""
        return self._transaction(lambda db: self._window(db, model).has_room(self._held(db, model)), write=False)

    def release(self, lease: Lease) -> None:
        self._transaction(lambda db: db.execute(
            "delete from leases where id = ? and host = ? and pid = ?", (lease.id, self.host, os.getpid())
        ))

    def release_all_of_this_process(self) -> None:
        """Delete every lease this process holds (it gave up on sharing)."""
        self._transaction(lambda db: db.execute(
            "delete from leases where host = ? and pid = ?", (self.host, os.getpid())
        ))

    def rate_limited(self, lease: Lease | None, model: str) -> tuple[int | None, int | None]:
        """A refusal of the call holding `lease`. Returns (the limit now, the lowest
        it went), as `limits` does."""

        def work(db: sqlite3.Connection) -> tuple[int | None, int | None]:
            window = self._window(db, model)
            window.refusal(self._held(db, model), None if lease is None else lease.epoch, time.time())
            self._save(db, model, window)
            return window.limit, window.lowest

        return self._transaction(work)

    def succeeded(self, lease: Lease | None, model: str, waiting: int = 0, held_back: bool = False) -> None:
        """A success of the call holding `lease` (call before releasing it), while
        `waiting` calls of this process waited for a lease (`held_back`: some did
        when it got its lease; `Window.success`). Most
        successes change nothing (the window was not full): those are told by a
        plain read, and only a change takes the write lock."""

        def changes(db: sqlite3.Connection, save: bool) -> bool:
            window = self._window(db, model)
            before = replace(window)
            window.success(self._held(db, model), None if lease is None else lease.epoch, waiting, held_back)
            if window == before:
                return False
            if save:
                self._save(db, model, window)
            return True

        def look(db: sqlite3.Connection) -> bool:
            db.execute("begin")  # one consistent read of the window and the leases
            try:
                return changes(db, save=False)
            finally:
                db.execute("rollback")

        if self._transaction(look, write=False):
            self._transaction(lambda db: changes(db, save=True))

    def limits(self, model: str) -> tuple[int | None, int | None]:
        """(the learned limit now, the lowest it went), None when unknown."""
        window = self._transaction(lambda db: self._window(db, model))
        return window.limit, window.lowest

"""Shared rate limits in one SQLite file in the llm user directory: the store every
process of the user on one machine shares (the `LimitStore` of `shared_limits`).

Per limit group, its `window.Window` and one *lease* row per call in flight (WAL,
short transactions). What a crash leaves behind: a process killed while holding
leases leaves its rows, and the next process to look at that group deletes them,
because their pid (on this host) no longer runs; rows of another host (a shared
home) expire after `LEASE_SECONDS`. A learned limit is forgotten an hour after the
provider last refused a call (`window.FORGET_AFTER`). A file that is not a database
(a crash mid-write on a failing disk, or anything written over it) holds nothing
worth keeping: it is replaced by a fresh one, with one warning; when it cannot be,
the error names it. A file written by an older layout (`SCHEMA_VERSION`) only held
learned limits: its tables are made afresh.

Every change is one short transaction (a look, `looks_free`, is a plain read that
waits for no writer); any SQLite or OS error (a corrupt or locked file, a read-only
directory) is raised as `SharedStateError`, after which this process gives the file
up for its lifetime (`rejoins` is False). Nothing here knows of `llm`: the adapter
gives the folder.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import TypeVar

from .. import files
from ..errors import SharedStateError
from .shared_limits import Lease, this_host
from .window import SHARED_INITIAL, Window

T = TypeVar("T")

logger = logging.getLogger(__name__)

FILE_NAME = "consortium-limits.db"
LEASE_SECONDS = 900.0  # a lease of another host is dropped after this
BUSY_MS = 10_000  # how long one transaction may wait for another (a starved machine can hold one for seconds)

SCHEMA_VERSION = 2  # the file's `user_version`; a file with another one is made afresh

_FIELDS = [field.name for field in fields(Window)]
_SCHEMA = [
    f"""create table windows (
        key text primary key, -- the limit group
        {", ".join(_FIELDS)}  -- a `window.Window`, column for field
    )""",
    """create table leases (
        id integer primary key autoincrement, -- never reused: a late release deletes only its own row
        key text not null,
        host text not null,
        pid integer not null,
        epoch integer not null,
        expires real not null
    )""",
    "create index leases_key on leases(key)",
]


_SETUP = threading.Lock()


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


class SqliteLimits:
    """The shared state in the file `path`; see the module docstring. Thread-safe:
    each thread uses its own connection."""

    rejoins = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.host = this_host()
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
                if db.execute("pragma user_version").fetchone()[0] != SCHEMA_VERSION:
                    self._make_tables(db)
                return db
            except sqlite3.OperationalError as ex:
                db.close()
                if ("locked" not in str(ex) and "busy" not in str(ex)) or attempt == 40:
                    raise
                time.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _make_tables(db: sqlite3.Connection) -> None:
        """The tables of this layout, in place of any older ones (they only held
        learned limits), unless another process just made them."""
        db.execute("begin immediate")
        try:
            if db.execute("pragma user_version").fetchone()[0] != SCHEMA_VERSION:
                for table in ("windows", "leases"):
                    db.execute(f"drop table if exists {table}")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"pragma user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")

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
            said = str(ex)  # an OSError, or a refused file, may name the file already
            raise SharedStateError(said if str(self.path) in said else f"{self.path}: {said}") from ex

    def _window(self, db: sqlite3.Connection, key: str) -> Window:
        """The group's window (fresh when none is stored), forgotten when stale."""
        row = db.execute(f"select {', '.join(_FIELDS)} from windows where key = ?", (key,)).fetchone()
        window = Window(SHARED_INITIAL) if row is None else Window(**dict(zip(_FIELDS, row, strict=True)))
        window.learned = bool(window.learned)
        window.forget_if_stale(time.time(), SHARED_INITIAL)
        return window

    def _save(self, db: sqlite3.Connection, key: str, window: Window) -> None:
        values = [getattr(window, name) for name in _FIELDS]
        db.execute(
            f"insert or replace into windows (key, {', '.join(_FIELDS)}) values (?{', ?' * len(_FIELDS)})",
            (key, *values),
        )

    def _purge(self, db: sqlite3.Connection, key: str) -> int:
        """Drop the leases of processes that are gone; the number left."""
        now = time.time()
        rows = db.execute("select id, host, pid, expires from leases where key = ?", (key,)).fetchall()
        dead = [lid for lid, host, pid, expires in rows if expires < now or (host == self.host and not _alive(pid))]
        db.executemany("delete from leases where id = ?", [(lid,) for lid in dead])
        return len(rows) - len(dead)

    def _held(self, db: sqlite3.Connection, key: str) -> int:
        return int(db.execute("select count(*) from leases where key = ?", (key,)).fetchone()[0])

    def try_lease(self, key: str) -> Lease | None:
        """A lease when the group's leases leave room in its shared window, else None."""

        def work(db: sqlite3.Connection) -> Lease | None:
            window = self._window(db, key)
            if not window.has_room(self._purge(db, key)):
                return None
            cursor = db.execute(
                "insert into leases (key, host, pid, epoch, expires) values (?, ?, ?, ?, ?)",
                (key, self.host, os.getpid(), window.epoch, time.time() + LEASE_SECONDS),
            )
            return Lease(int(cursor.lastrowid or 0), key, window.epoch, window.limit, window.lowest)

        return self._transaction(work)

    def looks_free(self, key: str) -> bool:
        """Whether the group's window seems to have room, read without taking the
        write lock (WAL readers never wait): cheap enough to poll often, between
        `try_lease` calls, which claim the room and drop dead processes' leases."""
        return self._transaction(lambda db: self._window(db, key).has_room(self._held(db, key)), write=False)

    def release(self, lease: Lease) -> None:
        self._transaction(lambda db: db.execute(
            "delete from leases where id = ? and host = ? and pid = ?", (lease.id, self.host, os.getpid())
        ))

    def release_all_of_this_process(self) -> None:
        """Delete every lease this process holds (it gave up on sharing)."""
        self._transaction(lambda db: db.execute(
            "delete from leases where host = ? and pid = ?", (self.host, os.getpid())
        ))

    def rate_limited(self, lease: Lease | None, key: str) -> tuple[int | None, int | None]:
        """A refusal of the call holding `lease`. Returns (the limit now, the lowest
        it went), as `limits` does."""

        def work(db: sqlite3.Connection) -> tuple[int | None, int | None]:
            window = self._window(db, key)
            window.refusal(self._held(db, key), None if lease is None else lease.epoch, time.time())
            self._save(db, key, window)
            return window.limit, window.lowest

        return self._transaction(work)

    def succeeded(self, lease: Lease | None, key: str, waiting: int = 0, held_back: bool = False) -> None:
        """A success of the call holding `lease` (call before releasing it), while
        `waiting` calls of this process waited for a lease (`held_back`: some did
        when it got its lease). Most
        successes change nothing (the window was not full): those are told by a
        plain read, and only a change takes the write lock."""

        def changes(db: sqlite3.Connection, save: bool) -> bool:
            window = self._window(db, key)
            before = replace(window)
            window.success(self._held(db, key), None if lease is None else lease.epoch, waiting, held_back)
            if window == before:
                return False
            if save:
                self._save(db, key, window)
            return True

        def look(db: sqlite3.Connection) -> bool:
            db.execute("begin")  # one consistent read of the window and the leases
            try:
                return changes(db, save=False)
            finally:
                db.execute("rollback")

        if self._transaction(look, write=False):
            self._transaction(lambda db: changes(db, save=True))

    def limits(self, key: str) -> tuple[int | None, int | None]:
        """(the learned limit now, the lowest it went), None when unknown."""
        window = self._transaction(lambda db: self._window(db, key))
        return window.limit, window.lowest

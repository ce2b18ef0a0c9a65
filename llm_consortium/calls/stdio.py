"""Keep the consortium's stdout and stderr working whatever a member plugin does to them.

Local model plugins often silence their engine while it loads by swapping
`sys.stdout`/`sys.stderr` (contextlib) or even file descriptors 1 and 2 (dup2), and
put back what they saw when they started. Two such calls overlapping in threads put
back each other's replacement: the process is left writing to /dev/null (or to a
closed file) and the consortium's answer is lost. Stdio is process-wide, so the
guard is too: it notes stdio when the first guarded call starts, and when the last
one ends it puts back whatever differs, with one warning naming the member whose
call ended last.

Only a member's redirect is put back. While guarded calls run, assignments to
`sys.stdout`/`sys.stderr` are watched (the `sys` module's class is swapped for one
that notes who assigns, and swapped back when the last call ends): a stream last
assigned by a host application's own thread (a web app redirecting its output while
a run goes on) is left as the host set it, and nobody is blamed. File descriptors
cannot be watched that way; a member's `dup2` is told apart by nothing, so they are
put back to what was noted when the first call started, whoever changed them.

A call counts while someone awaits it: a call given up on (timeout, cancel) stops
counting although its thread may run on, so a hung member can neither hold back the
check nor, ending much later, make it put back a stale snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

_FDS = (1, 2)
_STREAMS = ("stdout", "stderr")
#: Names of the threads that run blocking member calls (threads.py names them so).
MEMBER_THREAD_PREFIX = "llm-consortium-call"


class _Assignments:
    """Who last assigned each of sys.stdout/sys.stderr while calls were guarded."""

    def __init__(self) -> None:
        self.member_threads: dict[int, int] = {}  # thread id -> guarded calls entered there
        self.by_member: dict[str, bool] = {}  # stream -> whether a member assigned it last
        self.host_value: dict[str, Any] = {}  # stream -> what the host last assigned

    def note(self, name: str, value: Any) -> None:
        thread = threading.current_thread()
        member = thread.ident in self.member_threads or thread.name.startswith(MEMBER_THREAD_PREFIX)
        self.by_member[name] = member
        if not member:
            self.host_value[name] = value


_assignments: _Assignments | None = None


class _WatchedSys(types.ModuleType):
    """The `sys` module's class while guarded calls run: notes who assigns stdio."""

    def __setattr__(self, name: str, value: Any) -> None:
        watching = _assignments
        if watching is not None and name in _STREAMS:
            watching.note(name, value)
        super().__setattr__(name, value)


def _watch() -> _Assignments:
    global _assignments
    _assignments = _Assignments()
    if type(sys) is types.ModuleType:
        sys.__class__ = _WatchedSys
    return _assignments


def _unwatch() -> None:
    global _assignments
    _assignments = None
    if type(sys) is _WatchedSys:
        sys.__class__ = types.ModuleType  # type: ignore[assignment]


class _Snapshot:
    """sys.stdout/sys.stderr and a duplicate of fds 1 and 2, as they were."""

    def __init__(self) -> None:
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        self.fds: dict[int, tuple[int, tuple[int, int]]] = {}
        for fd in _FDS:
            identity = _identity(fd)
            if identity is None:
                continue
            with contextlib.suppress(OSError):
                self.fds[fd] = (os.dup(fd), identity)

    def restore(self, assignments: _Assignments) -> list[str]:
        """Put back whatever a member changed (a stream the host assigned last stays
        as the host set it); the names of what was put back."""
        changed = []
        for name in _STREAMS:
            if not assignments.by_member.get(name, False):
                continue
            wanted = assignments.host_value.get(name, getattr(self, name))
            if getattr(sys, name) is not wanted:
                setattr(sys, name, wanted)
                changed.append(f"sys.{name}")
        for fd, (copy, identity) in self.fds.items():
            if _identity(fd) != identity:
                with contextlib.suppress(OSError):
                    _flush()
                    os.dup2(copy, fd)
                    changed.append(f"file descriptor {fd}")
        return changed

    def close(self) -> None:
        for copy, _ in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(copy)
        self.fds = {}


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


class StdioGuard:
    """Counts guarded calls in flight; puts stdio back when the last one ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._snapshot: _Snapshot | None = None
        self._assignments: _Assignments | None = None
        self._warned: set[str] = set()  # models already named: one warning each

    @contextlib.contextmanager
    def guard(self, name: str, model: str = "") -> Iterator[None]:
        """Around one member's call; `name` is who the warning names, once per
        `model` (default: the name) in the process."""
        here = threading.get_ident()
        with self._lock:
            if self._depth == 0:
                self._snapshot = _Snapshot()
                self._assignments = _watch()
            self._depth += 1
            assert self._assignments is not None
            threads = self._assignments.member_threads
            threads[here] = threads.get(here, 0) + 1
        try:
            yield
        finally:
            self._leave(name, model or name, here)

    def _leave(self, name: str, model: str, here: int) -> None:
        with self._lock:
            self._depth -= 1
            assignments = self._assignments
            assert assignments is not None
            threads = assignments.member_threads
            threads[here] -= 1
            if not threads[here]:
                del threads[here]
            if self._depth:
                return
            snapshot, self._snapshot, self._assignments = self._snapshot, None, None
            assert snapshot is not None
            changed = snapshot.restore(assignments)
            _unwatch()
            snapshot.close()
            warn = bool(changed) and model not in self._warned
            if warn:
                self._warned.add(model)
        if warn:
            _warn(name, changed)


def _warn(name: str, changed: list[str]) -> None:
    logger.warning(
        "Consortium: member %s left %s redirected; put back so the answer is not lost",
        name, " and ".join(changed),
    )


guard = StdioGuard()


def guarded(name: str, model: str = "") -> Any:
    """`with guarded(member_name): ...` around one call, on the process-wide guard."""
    return guard.guard(name, model)

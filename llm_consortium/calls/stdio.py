"""Keep the consortium's stdout and stderr working whatever a member plugin does to them.

Local model plugins often silence their engine while it loads by swapping
`sys.stdout`/`sys.stderr` (contextlib) or even file descriptors 1 and 2 (dup2), and
put back what they saw when they started. Two such calls overlapping in threads put
back each other's replacement: the process is left writing to /dev/null (or to a
closed file) and the consortium's answer is lost. Stdio is process-wide, so the
guard is too: it notes stdio when the first guarded call starts, and when the last
one ends it puts back whatever differs, with one warning naming the member whose
call ended last.

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
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

_FDS = (1, 2)


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

    def restore(self) -> list[str]:
        """Put back whatever changed; the names of what was put back."""
        changed = []
        if sys.stdout is not self.stdout:
            sys.stdout = self.stdout
            changed.append("sys.stdout")
        if sys.stderr is not self.stderr:
            sys.stderr = self.stderr
            changed.append("sys.stderr")
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
        self._warned: set[str] = set()  # models already named: one warning each

    @contextlib.contextmanager
    def guard(self, name: str, model: str = "") -> Iterator[None]:
        """Around one member's call; `name` is who the warning names, once per
        `model` (default: the name) in the process."""
        with self._lock:
            if self._depth == 0:
                self._snapshot = _Snapshot()
            self._depth += 1
        try:
            yield
        finally:
            self._leave(name, model or name)

    def _leave(self, name: str, model: str) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth:
                return
            snapshot, self._snapshot = self._snapshot, None
            assert snapshot is not None
            changed = snapshot.restore()
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

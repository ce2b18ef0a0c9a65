"""This process's use of the shared state (`shared_limits`): whether it is on, each
operation with the fall-back when the file cannot be used, and a call's wait for a
lease.

Every SQLite call of the process runs in one daemon thread of its own, in the order
asked (`_Worker`): never on an event loop (a busy file can hold a transaction for
seconds), never inside the HTTP client's logging call that reports a 429, and a
lease released before another is asked for is gone when it is. Releases and what a
call taught (`later`) are handed over without waiting; a lease is awaited (`soon`).

When the file cannot be used, sharing is off for the rest of the process (one
warning; a long `llm chat` does not turn it back on at its next turn), and the
process removes its own leases from the file as soon as the file lets it, so they
do not count against the other processes until they expire.

Waiting for a lease is polling: processes cannot wake each other. So that sixteen
processes with three waiting calls each do not read the file fifty times a tick, a
process keeps its waiting calls in line per model, and only the first in line looks,
with a cheap read that takes no lock, every `POLL_EVERY` seconds (jittered); it
claims when room appears, and the next in line takes over. Every call still tries a
claim every `CLAIM_EVERY` seconds (a claim also drops dead processes' leases). The
caller bounds the wait (the failure policy, by the call's timeout) by cancelling it.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .shared_limits import FILE_NAME, LEASE_SECONDS, Lease, SharedLimits, SharedStateError

logger = logging.getLogger(__name__)

POLL_EVERY = 0.03  # seconds between looks at a full shared window (jittered ±50 %)
CLAIM_EVERY = 1.0  # seconds between claims of a call not first in line
CLEAN_EVERY = 5.0  # seconds between tries to remove this process's leases once sharing is lost
EXIT_WAIT = 2.0  # the longest the end of the process waits for queued releases

_sharing: SharedLimits | None = None
_cleaning: threading.Thread | None = None  # removing this process's leases from a file it gave up on
_lost: set[Path] = set()  # state files this process gave up on, for its lifetime
_lock = threading.Lock()
_lines: dict[str, collections.deque[object]] = {}  # per model: this process's waiting calls
GAVE_UP = object()  # what a shared operation returns once sharing is off


def share_limits(folder: Path | None) -> None:
    """Share every model's calls in flight and learned window with the user's other
    processes, through a file in `folder` (None: this process alone). A file this
    process gave up on stays given up on."""
    global _sharing
    with _lock:
        if folder is None or folder / FILE_NAME in _lost:
            _sharing = None
        elif _sharing is None or _sharing.path.parent != folder:
            _sharing = SharedLimits(folder / FILE_NAME)


def sharing() -> bool:
    return _sharing is not None


def shared_call(work: Callable[[SharedLimits], Any], failed: Any = None) -> Any:
    """`work(shared)` on the shared state, here and now (in the worker thread); on any
    trouble with it, sharing is turned off for this process with one warning, and
    `failed` is returned."""
    global _sharing, _cleaning
    shared = _sharing
    if shared is None:
        return failed
    try:
        return work(shared)
    except SharedStateError as ex:
        with _lock:
            lost = _sharing is shared
            if lost:
                _sharing = None
                _lost.add(shared.path)
        if lost:
            logger.warning(
                "Consortium: rate limits are learned in this process alone: the shared state cannot be used (%s)", ex,
            )
            _cleaning = threading.Thread(
                target=_remove_own_leases, args=(shared,), name="llm-consortium-limits-clean", daemon=True
            )
            _cleaning.start()
        return failed


def _remove_own_leases(shared: SharedLimits) -> None:
    """Keep trying to delete this process's leases from a file it gave up on, until
    it works or they would have expired anyway."""
    give_up_at = time.monotonic() + LEASE_SECONDS
    while time.monotonic() < give_up_at:
        try:
            shared.release_all_of_this_process()
            return
        except SharedStateError:
            time.sleep(CLEAN_EVERY)


class _Worker:
    """One daemon thread running the process's SQLite work in order."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self.pending = 0
        self.idle = threading.Condition()
        threading.Thread(target=self._serve, name="llm-consortium-limits", daemon=True).start()

    def submit(self, job: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self.idle:
            self.pending += 1
        self.jobs.put((job, future))
        return future

    def _serve(self) -> None:
        while True:
            item = self.jobs.get()
            if item is None:
                return
            job, future = item
            try:
                future.set_result(job())
            except BaseException as ex:  # handed to whoever waits (nobody, for `later`)
                future.set_exception(ex)
            with self.idle:
                self.pending -= 1
                self.idle.notify_all()

    def drain(self, seconds: float) -> None:
        with self.idle:
            self.idle.wait_for(lambda: self.pending == 0, seconds)


_worker: _Worker | None = None
_worker_pid: int | None = None


def _the_worker() -> _Worker:
    global _worker, _worker_pid
    with _lock:
        if _worker is None or _worker_pid != os.getpid():
            _worker, _worker_pid = _Worker(), os.getpid()
        return _worker


def waiting(key: str) -> int:
    """How many of this process's calls wait in line for a lease on model `key`."""
    with _lock:
        return len(_lines.get(key, ()))


def later(work: Callable[[SharedLimits], Any], then: Callable[[Any], None] | None = None) -> None:
    """`work(shared)` in the worker thread, without waiting for it; `then(result)`
    there after it (`GAVE_UP` when sharing is, or has just been turned, off)."""

    def job() -> None:
        result = shared_call(work, GAVE_UP)
        if then is not None:
            try:
                then(result)
            except Exception:  # a broken follow-up must not stop the worker
                logger.debug("Consortium: a shared-state follow-up failed", exc_info=True)

    _the_worker().submit(job)


async def soon(work: Callable[[SharedLimits], Any], failed: Any = None) -> Any:
    """`work(shared)` in the worker thread, awaited; `failed` when sharing is off."""
    return await asyncio.wrap_future(_the_worker().submit(lambda: shared_call(work, failed)))


async def take_lease(key: str) -> Lease | None:
    """A lease on model `key`'s shared window, waiting in line while it is full; None
    when sharing is (or has just been turned) off."""

    def take(shared: SharedLimits) -> Lease | None:
        return shared.try_lease(key)

    def free(shared: SharedLimits) -> bool:
        return shared.looks_free(key)

    lease = await _claim(take)
    if lease is None:
        me = object()
        with _lock:
            line = _lines.setdefault(key, collections.deque())
            line.append(me)
        try:
            while lease is None:
                claim_at = time.monotonic() + CLAIM_EVERY
                while time.monotonic() < claim_at:
                    await asyncio.sleep(POLL_EVERY * (0.5 + random.random()))
                    with _lock:
                        first = line[0] is me
                    if first and await soon(free, True):
                        break
                lease = await _claim(take)
        finally:
            with _lock:
                line.remove(me)
    return lease if isinstance(lease, Lease) else None  # GAVE_UP: sharing is off now


async def _claim(take: Callable[[SharedLimits], Lease | None]) -> Any:
    """One try at a lease; a lease granted as the waiting call is cancelled is
    given back at once, never left in the file."""
    future = _the_worker().submit(lambda: shared_call(take, GAVE_UP))
    try:
        return await asyncio.shield(asyncio.wrap_future(future))
    except asyncio.CancelledError:

        def give_back(done: concurrent.futures.Future[Any]) -> None:
            lease = None if done.cancelled() or done.exception() else done.result()
            if isinstance(lease, Lease):
                later(lambda shared: shared.release(lease))

        future.add_done_callback(give_back)
        raise


def settle(seconds: float = EXIT_WAIT) -> None:
    """Wait (at most `seconds`) until the work handed to the SQLite thread is done."""
    worker = _worker
    if worker is not None and _worker_pid == os.getpid():
        worker.drain(seconds)


def _at_exit() -> None:
    """Queued releases reach the file before the process ends (for a while)."""
    settle()


atexit.register(_at_exit)


def _after_fork() -> None:
    """A forked child must not reuse the parent's SQLite connections, nor its worker
    thread (not there), and has none of its waiting calls: it starts afresh."""
    global _sharing, _lock, _worker
    _lock = threading.Lock()
    _lines.clear()
    _worker = None
    if _sharing is not None:
        _sharing = SharedLimits(_sharing.path)


os.register_at_fork(after_in_child=_after_fork)

"""This process's use of the shared limits (`shared_limits`): which store, whether it
is in use now, each operation with the fall-back when the store cannot be used, and a
call's wait for a lease.

The store is a Redis server when the adapter is given one (`LLM_CONSORTIUM_LIMITS`,
`redis_limits`), else the SQLite file in the llm user directory (`sqlite_limits`).

Every operation on the store runs in one worker thread of the process (a
`ThreadPoolExecutor` of one), in the order asked: never on an event loop (a busy
file can hold a transaction for seconds, a server a round trip), never inside the
HTTP client's logging call that reports a 429, and a lease released before another
is asked for is gone when it is. Releases and what a call taught (`later`) are handed
over without waiting; other operations are awaited (`soon`). A wait given up (a
timeout, a cancel) cancels its operation when it has not started yet, and lets it
finish otherwise; the worker goes on either way.

When the store cannot be used, the process falls back to its own limits with one
warning, and stops counting its leases in the store (they would hold back the other
processes until they expired). A file is given up for the rest of the process (a
long `llm chat` does not turn it back on at its next turn: a file that failed once
tends to fail again, each time after a wait of seconds); a server is tried again
every `REJOIN_EVERY` seconds and used again as soon as it answers, without a word
(its outage had its warning).

Waiting for a lease is polling: processes cannot wake each other. So that sixteen
processes with three waiting calls each do not read the store fifty times a tick, a
process keeps its waiting calls in line per limit group, and only the first in line
looks, with a cheap read, every `POLL_EVERY` seconds (jittered); it claims when room
appears, and the next in line takes over. Every call still tries a claim every
`CLAIM_EVERY` seconds (a claim also drops dead processes' leases). The caller bounds
the wait (the failure policy, by the call's timeout) by cancelling it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SharedStateError
from .shared_limits import Lease, LimitStore
from .sqlite_limits import FILE_NAME, LEASE_SECONDS, SqliteLimits

logger = logging.getLogger(__name__)

LIMITS_VARIABLE = "LLM_CONSORTIUM_LIMITS"  # the Redis server's URL, read by the adapter
POLL_EVERY = 0.03  # seconds between looks at a full shared window (jittered ±50 %)
CLAIM_EVERY = 1.0  # seconds between claims of a call not first in line
CLEAN_EVERY = 5.0  # seconds between tries to remove this process's leases once sharing is lost
REJOIN_EVERY = 5.0  # seconds between tries of a server that stopped answering
EXIT_WAIT = 2.0  # the longest `settle` waits for queued work

_store: LimitStore | None = None
_source: tuple[Path, str | None] | None = None  # the folder and URL `_store` was opened from
_down_until = 0.0  # a server that stopped answering is not tried before this (monotonic)
_down = False  # the server stopped answering: this process uses its own limits
_cleaning: threading.Thread | None = None  # removing this process's leases from a store it stopped using
_lost: set[str] = set()  # stores this process gave up on, for its lifetime (paths, URLs)
_lock = threading.Lock()
_lines: dict[str, collections.deque[object]] = {}  # per limit group: this process's waiting calls
GAVE_UP = object()  # what a shared operation returns once sharing is off


def share_limits(folder: Path | None, url: str | None = None) -> None:
    """Share every limit group's calls in flight and learned window with the other
    processes using the same store: the Redis server at `url` when given, else a
    file in `folder` (None: this process alone, whatever `url` says). A store this
    process gave up on stays given up on."""
    global _store, _source, _down, _down_until
    with _lock:
        if folder is None or (url or str(folder / FILE_NAME)) in _lost:
            _store, _source = None, None
            return
        source = (folder, url or None)
        if _store is not None and _source == source:
            return
    store = _open(*source)  # outside the lock: it may warn
    with _lock:
        _store, _source, _down, _down_until = store, source if store is not None else None, False, 0.0


def _open(folder: Path, url: str | None) -> LimitStore | None:
    """The store for `folder` and `url`; None, with one warning, when `url` cannot name
    one here."""
    if url is None:
        return SqliteLimits(folder / FILE_NAME)
    from .redis_limits import RedisLimits, shown_url

    try:
        return RedisLimits(url)
    except ImportError:
        problem = f"{LIMITS_VARIABLE} names a Redis server and the redis package is not installed (llm install redis)"
    except SharedStateError as ex:
        problem = f"{LIMITS_VARIABLE} is not a Redis URL such as redis://host:6379/0 ({ex})"
    with _lock:
        first = url not in _lost
        _lost.add(url)
    if first:
        problem = problem.replace(url, shown_url(url))  # never a password on the terminal
        logger.warning("Consortium: rate limits are learned in this process alone: %s", problem)
    return None


def sharing() -> bool:
    """Whether calls take leases in the store now (not off, not given up, not
    waiting for a server to answer again)."""
    return _store is not None and time.monotonic() >= _down_until


def shared_call(work: Callable[[LimitStore], Any], failed: Any = None) -> Any:
    """`work(store)` on the shared store, here and now (in the worker thread); on any
    trouble with it, the process falls back to its own limits with one warning, and
    `failed` is returned."""
    global _down
    store = _store
    if store is None or time.monotonic() < _down_until:
        return failed
    try:
        result = work(store)
    except SharedStateError as ex:
        _stop_using(store, ex)
        return failed
    if _down and store.rejoins:
        _down = False
        logger.debug("Consortium: rate limits are shared through %s again", store.where)
    return result


def _stop_using(store: LimitStore, problem: SharedStateError) -> None:
    """Fall back from `store` after `problem`: for a while (a server) or for the
    process's lifetime (a file); warn once per outage, and stop counting this
    process's leases there."""
    global _store, _source, _down, _down_until, _cleaning
    with _lock:
        if _store is not store:
            return  # replaced meanwhile
        if store.rejoins:
            first = not _down
            _down, _down_until = True, time.monotonic() + REJOIN_EVERY
        else:
            first = True
            _store, _source = None, None
            _lost.add(store.where)
    if not first:
        return
    if store.rejoins:
        logger.warning(
            "Consortium: rate limits are learned in this process alone until the limits server answers again (%s)",
            problem,
        )
    else:
        logger.warning(
            "Consortium: rate limits are learned in this process alone: the shared state cannot be used (%s)", problem,
        )
    _cleaning = threading.Thread(
        target=_remove_own_leases, args=(store,), name="llm-consortium-limits-clean", daemon=True
    )
    _cleaning.start()


def _remove_own_leases(store: LimitStore) -> None:
    """Keep trying to remove this process's leases from a store it stopped using,
    until it works or they would have expired anyway."""
    give_up_at = time.monotonic() + LEASE_SECONDS
    while time.monotonic() < give_up_at:
        try:
            store.release_all_of_this_process()
            return
        except SharedStateError:
            time.sleep(CLEAN_EVERY)


_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_pid: int | None = None


def _submit(job: Callable[[], Any]) -> concurrent.futures.Future[Any] | None:
    """`job` queued for the worker thread; None once the interpreter is shutting down
    (a member's thread that outlived the run releasing its slot: nothing to tell)."""
    global _executor, _executor_pid
    with _lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llm-consortium-limits")
            _executor_pid = os.getpid()
        executor = _executor
    try:
        return executor.submit(job)
    except RuntimeError:
        return None


def waiting(key: str) -> int:
    """How many of this process's calls wait in line for a lease in group `key`."""
    with _lock:
        return len(_lines.get(key, ()))


def later(work: Callable[[LimitStore], Any], then: Callable[[Any], None] | None = None) -> None:
    """`work(store)` in the worker thread, without waiting for it; `then(result)`
    there after it (`GAVE_UP` when sharing is, or has just been turned, off)."""

    def job() -> None:
        result = shared_call(work, GAVE_UP)
        if then is not None:
            try:
                then(result)
            except Exception:  # a broken follow-up must not hide the next job's
                logger.debug("Consortium: a shared-state follow-up failed", exc_info=True)

    _submit(job)


async def soon(work: Callable[[LimitStore], Any], failed: Any = None) -> Any:
    """`work(store)` in the worker thread, awaited; `failed` when sharing is off.
    Cancelling the wait cancels the work unless it has started."""
    future = _submit(lambda: shared_call(work, failed))
    if future is None:
        return failed
    return await asyncio.wrap_future(future)


async def take_lease(key: str) -> Lease | None:
    """A lease in group `key`'s shared window, waiting in line while it is full;
    None when sharing is (or has just been turned) off."""

    def take(store: LimitStore) -> Lease | None:
        return store.try_lease(key)

    def free(store: LimitStore) -> bool:
        return store.looks_free(key)

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


async def _claim(take: Callable[[LimitStore], Lease | None]) -> Any:
    """One try at a lease; a lease granted as the waiting call is cancelled is
    given back at once, never left in the store."""
    future = _submit(lambda: shared_call(take, GAVE_UP))
    if future is None:
        return GAVE_UP
    try:
        return await asyncio.shield(asyncio.wrap_future(future))
    except asyncio.CancelledError:

        def give_back(done: concurrent.futures.Future[Any]) -> None:
            lease = None if done.cancelled() or done.exception() else done.result()
            if isinstance(lease, Lease):
                later(lambda store: store.release(lease))

        future.add_done_callback(give_back)
        raise


def settle(seconds: float = EXIT_WAIT) -> None:
    """Wait (at most `seconds`) until the work handed to the worker thread is done."""
    executor = _executor
    if executor is None or _executor_pid != os.getpid():
        return
    with contextlib.suppress(TimeoutError, RuntimeError):  # RuntimeError: the interpreter is shutting down
        executor.submit(lambda: None).result(seconds)  # one worker: everything before it is done


def _after_fork() -> None:
    """A forked child must not reuse the parent's connections, nor its worker thread
    (not there), and has none of its waiting calls: it starts afresh."""
    global _lock, _executor, _store
    _lock = threading.Lock()
    _lines.clear()
    _executor = None
    if _source is not None:
        _store = _open(*_source)


os.register_at_fork(after_in_child=_after_fork)

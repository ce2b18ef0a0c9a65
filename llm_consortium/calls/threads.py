"""Blocking model calls in threads, awaited from any event loop.

A model's sync implementation runs in a pool of reusable daemon threads: daemon, so
a provider that hangs can never keep the process alive after Ctrl-C or the end of
a script (`concurrent.futures` joins its workers at exit); bounded, so a huge
fan-out cannot start threads without limit; reused, so a round does not pay for
starting them again.

A call that is given up on (its timeout passed, or the run was cancelled) cannot be
stopped: its thread runs on. The bridge then marks the call's gate slot
(`limits.current_slot`) as detached and releases it only when the thread really
ends, so the model's `max_concurrent` still holds for whatever starts next.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .gate import current_slot

T = TypeVar("T")

#: Most worker threads alive at once in the process; more calls queue.
POOL_SIZE = 256


class DaemonPool:
    """A bounded pool of daemon worker threads, started as work needs them."""

    def __init__(self, size: int = POOL_SIZE, name: str = "llm-consortium-call") -> None:
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    @property
    def threads(self) -> int:
        """Worker threads started so far (they wait for work when idle)."""
        return self._threads

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job()` in a worker; `job` must not raise (it reports its own errors)."""
        self._jobs.put(job)
        with self._lock:
            if self._idle >= self._jobs.qsize() or self._threads >= self.size:
                return
            self._threads += 1
            number = self._threads
        threading.Thread(target=self._work, name=f"{self.name}-{number}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            job()


_pool = DaemonPool()


async def in_thread(fn: Callable[[], T], pool: DaemonPool | None = None) -> T:
    """Run blocking `fn` in a pool thread and await its result.

    The thread runs in a copy of the caller's context (as `asyncio.to_thread` does).
    When the awaiting task is cancelled while `fn` still runs, the gate slot held
    for this call (if any) is detached: the thread releases it when `fn` returns.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()
    slot = current_slot.get()
    lock = threading.Lock()
    state = {"ended": False}

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def job() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = context.run(fn)
        except BaseException as exc:
            error = exc
        with lock:
            state["ended"] = True
            release = slot is not None and slot.detached
        if release:
            slot.release()
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, value, error)

    (pool or _pool).submit(job)
    try:
        return await future
    except asyncio.CancelledError:
        with lock:
            if not state["ended"] and slot is not None:
                slot.detached = True
        raise

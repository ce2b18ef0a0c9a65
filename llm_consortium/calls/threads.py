"""Blocking model calls in threads, awaited from any event loop.

Each call gets a thread of its own, started for it and ending with it:
- daemon, so a provider that hangs can never keep the process alive after Ctrl-C or
  the end of a script (`concurrent.futures` joins its workers at exit);
- nothing shared between calls, so no call can wait behind another one's blocking
  work, and a forked child (whose copy of a pool's workers would not exist) starts
  threads like any process;
- bounded per model: at most `THREADS_PER_MODEL` threads run one model's calls at
  once, counting calls that were given up on but still block. A provider that hangs
  can only use up its own allowance; calls to every other model start at once. The
  allowance is a plain capacity (`Capacity`), never a learned window: how many calls
  a provider takes is the gate's business (gate.py), this only bounds threads.

A thread per call rather than a pool: starting one costs far less than the client
llm's OpenAI plugin builds for each prompt (docs/local-models.md has the figures).

A call that is given up on (its timeout passed, or the run was cancelled) cannot be
stopped: its thread runs on. The bridge then marks the call's gate slot
(`gate.current_slot`) as detached and releases it only when the thread really ends,
so the model's `max_concurrent` still holds for whatever starts next.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .gate import current_slot
from .stdio import MEMBER_THREAD_PREFIX
from .waiting_line import WaitingLine

T = TypeVar("T")

#: Most threads running one model's calls at once; more calls to it wait.
THREADS_PER_MODEL = 256


class Capacity:
    """At most `total` units in use, waited for from any event loop and released from
    any thread, in the package's one waiting line (`waiting_line`)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()
        self._line: WaitingLine[None, None] = WaitingLine(
            self._lock, self._has_room, self._take, self._put_back, lambda _: self.release()
        )

    def _has_room(self, _: None) -> bool:
        return self.used < self.total

    def _take(self) -> None:
        self.used += 1

    def _put_back(self, _: None) -> None:
        self.used -= 1

    async def acquire(self) -> None:
        await self._line.take(None)

    def release(self) -> None:
        with self._lock:
            self.used -= 1
            self._line.serve()


_allowances: dict[str, Capacity] = {}
_allowances_lock = threading.Lock()


def allowance(key: str) -> Capacity:
    """The thread allowance of model `key` in this process (its own, never shared)."""
    with _allowances_lock:
        capacity = _allowances.get(key)
        if capacity is None:
            capacity = _allowances[key] = Capacity(THREADS_PER_MODEL)
        return capacity


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: it counts none of them."""
    global _allowances_lock
    _allowances_lock = threading.Lock()
    _allowances.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


async def in_thread(fn: Callable[[], T], key: str = "") -> T:
    """Run blocking `fn` in a thread of its own and await its result; `key` names
    the model whose thread allowance it counts against.

    The thread runs in a copy of the caller's context (as `asyncio.to_thread` does).
    When the awaiting task is cancelled while `fn` still runs, the gate slot held
    for this call (if any) is detached: the thread releases it when `fn` returns.
    """
    held = allowance(key)
    await held.acquire()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()
    slot = current_slot.get()
    lock = threading.Lock()
    ended = False

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def job() -> None:
        nonlocal ended
        value: Any = None
        error: BaseException | None = None
        try:
            value = context.run(fn)
        except BaseException as exc:
            error = exc
        held.release()
        with lock:
            ended = True
            release = slot is not None and slot.detached
        if release and slot is not None:
            slot.release()
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, value, error)

    try:
        threading.Thread(target=job, name=f"{MEMBER_THREAD_PREFIX} {key}".rstrip(), daemon=True).start()
    except BaseException:
        held.release()
        raise
    try:
        return await future
    except asyncio.CancelledError:
        with lock:
            if not ended and slot is not None:
                slot.detach()
        raise

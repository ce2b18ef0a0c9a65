"""One event loop lifetime for the sync calls of a process.

A sync consortium call (`llm prompt`, each `llm chat` turn, `model.prompt(...).text()`)
needs an event loop for its concurrent member calls. A fresh loop per call
(`asyncio.run`) breaks async clients that outlive it: llm's OpenAI plugin builds an
`AsyncOpenAI` client per prompt, the client is garbage-collected during a *later*
call and schedules its `aclose()` on that later loop, which then fails against the
closed one ("Task exception was never retrieved ... Event loop is closed").

So sync calls reuse loops that are never closed:
- `shared_loop()`: one long-lived loop in a daemon thread, where the sync consortium
  model deliberates while the caller's thread yields the answer as it streams
  (models.py, sync_iter.py), and where `run_sync` runs when its caller already runs
  a loop (a notebook cell, a sync model called from async code);
- `run_sync` from plain sync code (compare, eval): an `asyncio.Runner` kept for the
  calling thread, so the run happens in the caller's own thread (its sqlite
  connections and thread-locals keep working) and Ctrl-C cancels it the way
  `asyncio.run` does.

Why not anyio's blocking portal (its thread is a daemon in the anyio llm installs):
it would replace `shared_loop()` only. It cannot iterate an async generator from
sync code (sync_iter.py's queue bridge stays), its thread is gone in a forked child
like ours (the same pid check would be needed), and a Ctrl-C in `portal.call` leaves
the task running unless the caller cancels it (`_run_on_shared_loop`'s work again).
Neither is faster in a way a call notices (docs/local-models.md has the figures).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_local = threading.local()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's sync-path loop, started on first use (again after a fork,
    which copies the loop but not the thread running it)."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_serve, args=(loop,), name="llm-consortium-loop", daemon=True
            )
            thread.start()
            _loop, _thread, _pid = loop, thread, os.getpid()
        return _loop


class OnLoop(Generic[T]):
    """A coroutine run as a task on `loop`, which runs in another thread
    (`asyncio.run_coroutine_threadsafe`): this thread can wait for its result, or
    cancel it and wait until it has unwound."""

    def __init__(self, loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> None:
        self._loop = loop
        self._task: list[asyncio.Task[Any]] = []

        async def tracked() -> T:
            task = asyncio.current_task()
            if task is not None:
                self._task.append(task)
            return await awaitable

        self.future = asyncio.run_coroutine_threadsafe(tracked(), loop)

    def result(self) -> T:
        """Its result, or what it raised (cancelled on its loop: CancelledError)."""
        try:
            return self.future.result()
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError from None

    def cancel(self) -> None:
        """Cancel the task on its loop and wait until it has unwound (its finally
        blocks run, its member calls stopped). The cancel is asked for after the
        task's first step (the loop runs callbacks in the order asked), so it never
        lands on a coroutine that has not started and so would run nothing."""
        if self.future.done():
            return
        self._loop.call_soon_threadsafe(self._loop.call_soon, self._cancel_task)
        with contextlib.suppress(Exception):  # its own end: cancelled, or whatever it raised
            self.future.result()

    def _cancel_task(self) -> None:
        for task in self._task:
            task.cancel()


def wait_on(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    """Wait in this thread for `awaitable`, run as a task on `loop` (running in
    another thread): the one way blocking code hands work to a loop and waits for it
    (a chunk of streamed text, an async hook, an async tool's result, a whole run
    from inside someone's running loop). Ctrl-C (or any exception) while waiting
    cancels the task and waits for it to unwind."""
    running = OnLoop(loop, awaitable)
    try:
        return running.result()
    except BaseException:
        running.cancel()
        raise


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def run_sync(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine `coro_factory()` makes to completion from sync code, on this
    thread's lasting loop, or on the shared loop when this thread already runs one.

    Ctrl-C (or any exception) while waiting cancels the run and waits for it to
    unwind, so member calls stop instead of running on unseen; calls blocked in
    threads are abandoned there, not waited for.
    """
    if _in_a_running_loop():
        return _run_on_shared_loop(coro_factory)
    # A fresh copy of the caller's context for each run, as asyncio.run makes.
    return _runner().run(coro_factory(), context=contextvars.copy_context())  # type: ignore[arg-type]


def _in_a_running_loop() -> bool:
    # Decided apart from the run, so the run's own errors are not raised while a
    # RuntimeError is being handled (and do not carry it as their context).
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _runner() -> asyncio.Runner:
    runner = getattr(_local, "runner", None)
    if runner is None or _local.pid != os.getpid():
        runner = _local.runner = asyncio.Runner()
        _local.pid = os.getpid()
    return runner


def _run_on_shared_loop(coro_factory: Callable[[], Awaitable[T]]) -> T:
    loop = shared_loop()
    if threading.current_thread() is _thread:
        # A sync call made from a coroutine on the shared loop itself would wait for
        # the loop it blocks: give it a loop of its own in a helper thread.
        return _run_beside(coro_factory)
    return wait_on(loop, coro_factory())


def _run_beside(coro_factory: Callable[[], Awaitable[T]]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llm-consortium-nested") as helper:
        return helper.submit(lambda: asyncio.run(coro_factory())).result()  # type: ignore[arg-type]

"""One event loop for every sync call in the process.

A sync consortium call (`llm prompt`, each `llm chat` turn, `model.prompt(...).text()`)
needs an event loop for its concurrent member calls. A fresh loop per call
(`asyncio.run`) breaks async clients that outlive it: llm's OpenAI plugin builds an
`AsyncOpenAI` client per prompt, the client is garbage-collected during a *later*
call and schedules its `aclose()` on that later loop, which then fails against the
closed one ("Task exception was never retrieved ... Event loop is closed"). So every
sync call in a process runs on one long-lived loop in a daemon thread, and whatever a
client leaves behind is finalised on the loop that made it.

Why not anyio's blocking portal: a portal kept open for the life of the process runs
in a non-daemon executor thread, which the interpreter joins at exit, so the process
would never end; a portal opened per call is a loop per call again.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
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


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def run_sync(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine `coro_factory()` makes to completion from sync code, on the
    shared loop; works the same inside a running loop (a notebook cell, a sync model
    called from async code).

    Ctrl-C (or any exception) while waiting cancels the run on the loop and waits
    for it to unwind, so member calls stop instead of running on unseen; calls
    blocked in threads are abandoned there, not waited for.
    """
    loop = shared_loop()
    if threading.current_thread() is _thread:
        # A sync call made from a coroutine on the shared loop itself would wait for
        # the loop it blocks: give it a loop of its own in a helper thread.
        return _run_beside(coro_factory)
    finished = threading.Event()
    box: dict[str, Any] = {}

    def start() -> None:
        try:
            task = loop.create_task(coro_factory())  # type: ignore[arg-type]
        except BaseException as ex:
            box["error"] = ex
            finished.set()
            return
        box["task"] = task
        task.add_done_callback(lambda _: finished.set())

    def cancel() -> None:
        task = box.get("task")
        if task is not None:
            task.cancel()

    loop.call_soon_threadsafe(start)
    try:
        finished.wait()
    except BaseException:
        loop.call_soon_threadsafe(cancel)  # runs after start(): callbacks keep their order
        finished.wait()
        raise
    if "error" in box:
        raise box.pop("error")
    return box["task"].result()


def _run_beside(coro_factory: Callable[[], Awaitable[T]]) -> T:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())  # type: ignore[arg-type]
        except BaseException as ex:
            box["error"] = ex

    worker = threading.Thread(target=target, name="llm-consortium-nested", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box.pop("error")
    return box["value"]

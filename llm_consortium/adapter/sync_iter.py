"""Iterating an async generator from sync code, item by item, as it produces them.

llm's sync `execute` is a plain generator, but a consortium deliberates on an event
loop. To stream, the deliberation runs on a loop in another thread while the caller's
thread yields each answer chunk the moment it arrives. Stdlib only: a loop, a queue,
and the thread-to-loop bridge of loop.py (`OnLoop`).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from .loop import OnLoop, wait_on

__all__ = ["iterate_sync"]

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


def iterate_sync(
    agen_factory: Callable[[], AsyncIterator[T]],
    loop: asyncio.AbstractEventLoop | None = None,
) -> Iterator[T]:
    """Yield what `agen_factory()` yields, running it on `loop` (a running loop in
    another thread) or, without one, on a private loop in a daemon thread.

    Works inside a running loop too (a notebook, a sync model called from async
    code), since the caller's thread only waits on a queue. An exception from the
    generator is raised here unchanged. Stopping early (the caller breaks off, or
    Ctrl-C while waiting) cancels the generator on its loop and waits for it to
    unwind, so its member calls stop instead of running on unseen.
    """
    items: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
    private = loop is None or _runs_here(loop)
    thread: threading.Thread | None = None
    if private:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="llm-consortium-stream", daemon=True)
        thread.start()
    assert loop is not None

    async def pump() -> None:
        try:
            async for item in agen_factory():
                items.put((_ITEM, item))
        except BaseException as ex:  # handed to the caller, who raises it (also a cancellation)
            items.put((_ERROR, ex))
            return
        items.put((_END, None))

    pumping = OnLoop(loop, pump())
    finished = False
    try:
        while True:
            kind, value = items.get()
            if kind == _ITEM:
                yield value  # type: ignore[misc]
            else:
                finished = True
                if kind == _ERROR:
                    raise value  # type: ignore[misc]
                return
    finally:
        if finished:
            pumping.result()  # it has put its last item: it ends at once
        else:
            pumping.cancel()
        if private:
            _close(loop, thread)


def _runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the caller's own running loop (waiting on it would deadlock)."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _close(loop: asyncio.AbstractEventLoop, thread: threading.Thread | None) -> None:
    """Finish a private loop as `asyncio.run` would: async generators closed, then
    the loop stopped and closed."""
    try:
        wait_on(loop, loop.shutdown_asyncgens())
    finally:
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        loop.close()

"""A Toolbox's `prepare()` and `prepare_async()`, run once before its first call, as
llm runs them: members calling one box at once never run its tools unprepared, nor
prepare it twice.
"""

from __future__ import annotations

import asyncio
import threading

import llm

_PREPARING = threading.Lock()


def _toolbox(tool: llm.Tool) -> llm.Toolbox | None:
    owner = getattr(tool.implementation, "__self__", None)
    return owner if isinstance(owner, llm.Toolbox) else None


def prepare_sync(tool: llm.Tool) -> None:
    """A Toolbox's `prepare()`, once, as llm runs it before a sync tool call."""
    box = _toolbox(tool)
    if box is not None:
        with _PREPARING:
            if not getattr(box, "_prepared", False):
                box.prepare()
                box._prepared = True


_preparing: dict[int, asyncio.Future[None]] = {}  # per Toolbox: its prepare_async() under way


async def prepare_async(tool: llm.Tool) -> None:
    """A Toolbox's `prepare_async()`, once, as llm runs it before an async tool call:
    a second member's call waits for the first one's preparation instead of running
    unprepared, and the box counts as prepared only once it is (llm's order)."""
    box = _toolbox(tool)
    if box is None or getattr(box, "_async_prepared", False):
        return
    loop = asyncio.get_running_loop()
    with _PREPARING:
        pending = _preparing.get(id(box))
        if pending is None or pending.get_loop() is not loop:
            pending = _preparing[id(box)] = loop.create_task(_prepare(box))
    await asyncio.shield(pending)


async def _prepare(box: llm.Toolbox) -> None:
    try:
        if not getattr(box, "_async_prepared", False):
            await box.prepare_async()
            box._async_prepared = True
    finally:
        with _PREPARING:
            _preparing.pop(id(box), None)

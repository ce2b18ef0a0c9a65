"""llm's sync API over the consortium's loop: the plugin's own bridge (one lasting
loop in a daemon thread, adapter/loop.py, and its queue bridge for streaming,
adapter/sync_iter.py) against anyio's blocking portal, kept open for the process.

Measured: a sync call of a trivial coroutine, one after another, and a stream of
100 chunks taken chunk by chunk from sync code (what `ConsortiumModel.execute` does).
The portal offers no way to iterate an async generator from sync code, so its stream
row pairs `portal.start_task_soon` with a queue, as sync_iter.py does.

Run: `python bench/portal.py [--calls 2000]`.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llm_consortium.adapter.loop import shared_loop
from llm_consortium.adapter.sync_iter import iterate_sync

CHUNKS = 100


async def answer() -> str:
    return "answer"


async def chunks() -> AsyncIterator[str]:
    for n in range(CHUNKS):
        yield str(n)


def call_on_shared_loop() -> str:
    return "".join(iterate_sync(lambda: _one(), shared_loop()))


async def _one() -> AsyncIterator[str]:
    yield await answer()


def stream_on_shared_loop() -> list[str]:
    return list(iterate_sync(chunks, shared_loop()))


def stream_on_portal(portal: BlockingPortal) -> list[str]:
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()

    async def pump() -> None:
        async for item in chunks():
            items.put(item)
        items.put(None)

    portal.start_task_soon(pump)
    return list(_drain(items))


def _drain(items: queue.SimpleQueue[Any]) -> Iterator[str]:
    while (item := items.get()) is not None:
        yield item


def per_call(fn: Callable[[], Any], calls: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    from run import table

    with start_blocking_portal() as portal:
        rows = []
        for label, call, stream in (
            ("loop.py + sync_iter.py", call_on_shared_loop, stream_on_shared_loop),
            ("anyio blocking portal", lambda: portal.call(answer), lambda: stream_on_portal(portal)),
        ):
            rows.append({
                "bridge": label,
                "one sync call (µs)": f"{per_call(call, args.calls):.0f}",
                f"a {CHUNKS}-chunk stream (µs)": f"{per_call(stream, args.calls // 10):.0f}",
            })
    print(table(rows))


if __name__ == "__main__":
    main()

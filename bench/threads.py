"""Does a pool of reused threads matter, against one new daemon thread per call?

`calls/threads.py` starts a thread for every blocking member call. This measures
what that costs against a reference pool of reused daemon threads (the design it
replaced; kept here only as the yardstick):
- the bridge alone: `in_thread(lambda: None)` one after another, and 200 at once;
- the full stack: a sync consortium call of 24 and 100 members through llm's real
  OpenAI plugin to the loopback server (as bench/callmodes.py), with the member
  calls bridged either way, interleaved one call of each per repetition.

Run: `python bench/threads.py [--repeat 5] [--sizes 24,100]`.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import callmodes
import fanout

from llm_consortium.adapter import participants
from llm_consortium.calls.threads import in_thread

from backend import Backend, member_names

T = TypeVar("T")


class _Pool:
    """Reused daemon workers; a new one only when none is waiting for work."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.idle = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self.lock:
            start = self.idle == 0
            self.idle -= 0 if start else 1
        self.jobs.put(job)
        if start:
            threading.Thread(target=self.work, daemon=True).start()

    def work(self) -> None:
        while True:
            self.jobs.get()()
            with self.lock:
                self.idle += 1


_pool = _Pool()


async def pooled(fn: Callable[[], T], key: str = "") -> T:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def job() -> None:
        try:
            value = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(future.set_exception, exc)
        else:
            loop.call_soon_threadsafe(future.set_result, value)

    _pool.submit(job)
    return await future


Bridge = Callable[..., Awaitable[Any]]
BRIDGES: dict[str, Bridge] = {"thread per call": in_thread, "reused pool": pooled}


def bridge_rows(sequential: int = 2000, at_once: int = 200, batches: int = 20) -> list[dict[str, Any]]:
    async def measure(bridge: Bridge) -> tuple[float, float]:
        started = time.perf_counter()
        for _ in range(sequential):
            await bridge(lambda: None)
        one = (time.perf_counter() - started) / sequential
        started = time.perf_counter()
        for _ in range(batches):
            await asyncio.gather(*(bridge(lambda: None) for _ in range(at_once)))
        return one, (time.perf_counter() - started) / batches

    rows = []
    for label, bridge in BRIDGES.items():
        asyncio.run(measure(bridge))  # warm-up: the pool starts its workers
        one, batch = asyncio.run(measure(bridge))
        rows.append({
            "bridge": label, "one call after another (µs per call)": f"{one * 1e6:.0f}",
            f"{at_once} at once (ms per batch)": f"{batch * 1000:.1f}",
        })
    return rows


def stack_rows(repeat: int, sizes: tuple[int, ...], delay: float = 1.0, judge: float = 0.5) -> list[dict[str, Any]]:
    rows = []
    with Backend(max(sizes), delay, judge) as backend:
        user_dir = fanout._prepare_user_dir(backend.url, max(sizes))
        try:
            for count in sizes:
                name = f"threads-{count}"
                callmodes._save(name, [{"model_id": m} for m in member_names(count)], "thread")
                call = callmodes._stack(name, "sync")
                walls: dict[str, list[float]] = {label: [] for label in BRIDGES}
                cpus = dict.fromkeys(BRIDGES, 0.0)
                for run in range(repeat + 1):  # the first is a warm-up
                    for label, bridge in BRIDGES.items():
                        participants.in_thread = bridge  # type: ignore[assignment]
                        cpu, started = time.process_time(), time.perf_counter()
                        assert "benchmark answer" in call()
                        if run:
                            walls[label].append(time.perf_counter() - started)
                            cpus[label] += time.process_time() - cpu
                for label in BRIDGES:
                    rows.append({
                        "bridge": label, "members": count,
                        "critical path (s)": f"{delay + judge:.2f}",
                        "wall, median (s)": f"{statistics.median(walls[label]):.3f}",
                        "CPU per call (ms)": f"{cpus[label] * 1000 / (repeat * (count + 1)):.1f}",
                    })
        finally:
            participants.in_thread = in_thread
            fanout._remove(user_dir)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="24,100")
    args = parser.parse_args()
    from run import table

    print(table(bridge_rows()) + "\n", flush=True)
    print(table(stack_rows(args.repeat, tuple(int(s) for s in args.sizes.split(",")))))


if __name__ == "__main__":
    main()

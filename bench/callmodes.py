"""How member calls physically run (issue 16): threads vs the event loop, full stack.

Rows, for 8, 24 and 100 members answering after `delay` and an arbiter after
`judge_delay`, through llm's real OpenAI plugin to the loopback server in another
process:
- llm alone: the members' async prompts gathered on one loop, then the arbiter
  (the floor under any tool built on llm, as in the Fan-out table), and the same with
  a thread per sync prompt;
- the consortium through the sync and the async API, with `call_mode: thread` (what
  `auto` picks for these models) and `call_mode: async`.
Variants are interleaved (one call of each per repetition) so that load from other
processes on a shared machine falls on all of them alike.

Also: copies of one model (`-m m001:16`, the self-consistency shape) through the
sync and the async API, in several fresh processes of one user: the first call of
each (the first ever in the first process) and the worst of 20 warm calls, against
their critical path; a sync-only model asked 4
times at once with `max_concurrent` 1 and 4; and the peak memory per member of each
call mode (fresh processes).

Run: `python bench/callmodes.py [--repeat 3] [--sizes 8,24,100] [--copies 16]
[--warm 20] [--processes 6]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import llm
from llm.plugins import pm

from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fanout

from backend import Backend, member_names

QUESTION = "What is the answer?"


def _save(name: str, members: list[dict[str, Any]], mode: str = "auto") -> None:
    store.save(
        ConsortiumConfig(
            name=name, models=members, arbiter={"model_id": "judge"}, max_iterations=1,
            confidence_threshold=0.7, retries=0, call_mode=mode,
            skip_arbiter_on_agreement=False,  # the arbiter always asked, as in llm alone's rows
        )
    )


def _alone_async(count: int) -> Callable[[], str]:
    async def go() -> str:
        registry = {m.model.model_id: m.async_model for m in llm.get_models_with_aliases()}
        await asyncio.gather(*(registry[n].prompt(QUESTION).text() for n in member_names(count)))
        return await registry["judge"].prompt("Judge. This is round 2 of 2.").text()

    return lambda: asyncio.run(go())


def _alone_threads(count: int) -> Callable[[], str]:
    def go() -> str:
        registry = {m.model.model_id: m.model for m in llm.get_models_with_aliases()}
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda n: registry[n].prompt(QUESTION).text(), member_names(count)))
        return registry["judge"].prompt("Judge. This is round 2 of 2.").text()

    return go


def _stack(name: str, api: str) -> Callable[[], str]:
    if api == "async":

        async def go() -> str:
            return await llm.get_async_model(name).prompt(QUESTION).text()

        return lambda: asyncio.run(go())
    return lambda: llm.get_model(name).prompt(QUESTION).text()


def bench_modes(delay: float, judge_delay: float, repeat: int, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    biggest = max(sizes)
    with Backend(biggest, delay, judge_delay) as backend:
        user_dir = fanout._prepare_user_dir(backend.url, biggest)
        try:
            for count in sizes:
                members = [{"model_id": m} for m in member_names(count)]
                variants: dict[str, Callable[[], str]] = {
                    "llm alone: async prompts gathered on one loop": _alone_async(count),
                    "llm alone: a thread per sync prompt": _alone_threads(count),
                }
                for mode in ("thread", "async"):
                    _save(f"modes-{count}-{mode}", members, mode)
                    for api in ("sync", "async"):
                        label = f"consortium, {api} API, call_mode {mode}"
                        variants[label] = _stack(f"modes-{count}-{mode}", api)
                for call in variants.values():
                    call()  # warm-up
                walls: dict[str, list[float]] = {label: [] for label in variants}
                cpus: dict[str, float] = dict.fromkeys(variants, 0.0)
                for _ in range(repeat):
                    for label, call in variants.items():
                        cpu = time.process_time()
                        started = time.perf_counter()
                        text = call()
                        walls[label].append(time.perf_counter() - started)
                        cpus[label] += time.process_time() - cpu
                        assert "benchmark answer" in text, text
                floor = statistics.median(walls["llm alone: async prompts gathered on one loop"])
                for label in variants:
                    wall = statistics.median(walls[label])
                    rows.append({
                        "how": label,
                        "members": count,
                        "critical path (s)": f"{delay + judge_delay:.2f}",
                        "wall, median (s)": f"{wall:.3f}",
                        "wall / llm alone": f"{wall / floor:.2f}",
                        "CPU per call (ms)": f"{cpus[label] * 1000 / (repeat * (count + 1)):.1f}",
                    })
        finally:
            fanout._remove(user_dir)
    return rows


def _copies_alone(model: str, copies: int) -> Callable[[], str]:
    async def go() -> str:
        async_model = llm.get_async_model(model)
        await asyncio.gather(*(async_model.prompt(QUESTION).text() for _ in range(copies)))
        return await llm.get_async_model("judge").prompt("Judge. This is round 2 of 2.").text()

    return lambda: asyncio.run(go())


def _copies_child(copies: int, warm: int) -> None:
    """One process of the copies bench (LLM_USER_PATH set by the parent): its first
    call (sync API), then `warm` rounds of the sync API, the async API and llm alone,
    interleaved; the walls as JSON on stdout."""
    import json

    (model,) = member_names(1)
    queued: list[int] = []  # per sync call: the longest any copy waited for a slot (ms)

    def sync() -> str:
        response = llm.get_model("copies").prompt(QUESTION)
        text = response.text()
        queued.append(max(m.get("queued_ms", 0) for m in response.response_json["rounds"][0]["members"]))
        return text

    calls = {"sync": sync, "async": _stack("copies", "async"), "alone": _copies_alone(model, copies)}
    started = time.perf_counter()
    assert "benchmark answer" in calls["sync"]()
    walls: dict[str, Any] = {"first": time.perf_counter() - started}
    for label in calls:
        walls[label] = []
    for _ in range(warm):
        for label, call in calls.items():
            started = time.perf_counter()
            assert "benchmark answer" in call()
            walls[label].append(time.perf_counter() - started)
    walls["queued"] = queued
    sys.stdout.write(json.dumps(walls) + "\n")


def bench_copies(
    delay: float, judge_delay: float, copies: int, warm: int = 20, processes: int = 6
) -> list[dict[str, Any]]:
    """`copies` instances of one model (all its calls through one model's thread
    allowance and gate) in `processes` fresh processes one after another, all of one
    user: each makes its first call, then `warm` calls of each kind, interleaved so
    that load from other processes falls on all kinds alike. The first process's
    first call is the first call ever of the model (a fresh limits file: the
    rate-limit slow start); every later process's is the first call of a process
    (the window learned is in the file)."""
    import json

    rows = []
    critical = delay + judge_delay
    with Backend(1, delay, judge_delay) as backend:
        user_dir = fanout._prepare_user_dir(backend.url, 1)
        try:
            (model,) = member_names(1)
            store.save(ConsortiumConfig(  # the arbiter always asked: its time is on the critical path
                name="copies", models=[{"model_id": model, "count": copies}], arbiter={"model_id": "judge"},
                max_iterations=1, confidence_threshold=0.7, retries=0, skip_arbiter_on_agreement=False,
            ))
            for number in range(1, processes + 1):
                out = subprocess.run(
                    [sys.executable, __file__, "--copies-child", str(copies), str(warm)],
                    capture_output=True, text=True, check=True, cwd=HERE,
                )
                walls = json.loads(out.stdout)
                rows.append({
                    "process": number,
                    "its first call": "the model's first ever" if number == 1 else "window learned",
                    "critical path (s)": f"{critical:.2f}",
                    "first call (s)": f"{walls['first']:.2f}",
                    "first / critical": f"{walls['first'] / critical:.2f}",
                    **{
                        f"{label}, worst of {warm} warm (median)": (
                            f"{max(walls[label]):.2f} ({statistics.median(walls[label]):.2f})"
                        )
                        for label in ("sync", "async", "alone")
                    },
                    "sync worst / critical": f"{max(walls['sync']) / critical:.2f}",
                    "a copy's longest wait for a slot, first / warm (ms)": (
                        f"{walls['queued'][0]} / {max(walls['queued'][1:])}"
                    ),
                    "load": f"{os.getloadavg()[0]:.1f}",
                })
                print(rows[-1], file=sys.stderr, flush=True)
        finally:
            fanout._remove(user_dir)
    return rows


def bench_sync_only_cap(delay: float, judge_delay: float, instances: int = 4) -> list[dict[str, Any]]:
    """One sync-only model asked `instances` times at once, with max_concurrent 1 and 4
    (two models: one process keeps the smallest cap a model was given)."""
    rows = []
    with Backend(instances, delay, judge_delay) as backend:
        user_dir = fanout._prepare_user_dir(backend.url, instances)
        pm.register(fanout._SyncOnlyPlugin(2), name="bench-sync-only")
        try:
            for model, cap in (("sync-m001", 1), ("sync-m002", 4)):
                name = f"sync-only-cap-{cap}"
                _save(name, [{"model_id": model, "count": instances, "max_concurrent": cap}])
                call = _stack(name, "sync")
                started = time.perf_counter()
                assert "benchmark answer" in call()
                wall = time.perf_counter() - started
                critical = -(-instances // cap) * delay + judge_delay
                rows.append({
                    "sync-only model": f"{instances} instances, max_concurrent {cap}",
                    "critical path (s)": f"{critical:.2f}",
                    "wall (s)": f"{wall:.3f}",
                })
        finally:
            pm.unregister(name="bench-sync-only")
            fanout._remove(user_dir)
    return rows


def peak_rss_mb(count: int, mode: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(count), mode],
        capture_output=True, text=True, check=True, cwd=HERE,
    )
    return float(out.stdout.strip())


def _memory_child(count: int, mode: str) -> None:
    with Backend(count, 0.5, 0.1) as backend:
        user_dir = fanout._prepare_user_dir(backend.url, count)
        try:
            _save("bench-memory", [{"model_id": m} for m in member_names(count)], mode)
            assert "benchmark answer" in _stack("bench-memory", "sync")()
        finally:
            fanout._remove(user_dir)
    sys.stdout.write(f"{fanout._peak_kb() / 1024:.1f}\n")


def memory_rows() -> list[dict[str, Any]]:
    """Peak RSS of a sync call of 1 and of 100 members in fresh processes, per mode."""
    rows = []
    for mode in ("thread", "async"):
        one, hundred = peak_rss_mb(1, mode), peak_rss_mb(100, mode)
        rows.append({
            "call_mode": mode, "peak RSS, 1 member (MB)": f"{one:.1f}",
            "100 members (MB)": f"{hundred:.1f}", "per member (MB)": f"{(hundred - one) / 99:.2f}",
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--judge-delay", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="8,24,100")
    parser.add_argument("--copies", type=int, default=16, help="instances of one model in the copies section")
    parser.add_argument("--warm", type=int, default=20, help="warm calls of each kind per process (copies)")
    parser.add_argument("--processes", type=int, default=6, help="fresh processes one after another (copies)")
    parser.add_argument("--skip", default="", help="comma list of: modes,copies,cap,memory")
    args = parser.parse_args()
    from run import table  # run.py imports this module: one table renderer for every section

    skip = set(args.skip.split(","))
    sizes = tuple(int(s) for s in args.sizes.split(","))
    if "modes" not in skip:
        print(table(bench_modes(args.delay, args.judge_delay, args.repeat, sizes)) + "\n", flush=True)
    if "copies" not in skip:
        rows = bench_copies(args.delay, args.judge_delay, args.copies, args.warm, args.processes)
        print(table(rows) + "\n", flush=True)
    if "cap" not in skip:
        print(table(bench_sync_only_cap(args.delay, args.judge_delay)) + "\n", flush=True)
    if "memory" not in skip:
        print(table(memory_rows()))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
        _memory_child(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "--copies-child":
        _copies_child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()

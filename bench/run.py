"""Run the benchmarks and print the results as markdown (`make bench`).

Not part of the test suite: timings depend on the machine and its load, so they are
measured and reported here, never asserted in tests. The README's Performance
section is this script's output.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import callmodes
import click
import fanout
import ratelimit
import startup
import stream


def table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import llm.cli

    version = getattr(llm.cli, "__version__", None) or _dist_version("llm")
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, llm {version}, openai {_dist_version('openai')}"
    )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0, help="member latency, seconds")
    parser.add_argument("--judge-delay", type=float, default=0.5, help="arbiter latency, seconds")
    parser.add_argument("--repeat", type=int, default=3, help="calls per fan-out figure (median)")
    parser.add_argument("--runs", type=int, default=7, help="processes per startup figure (best)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = parser.parse_args()
    sizes = (1, 24) if args.quick else fanout.SIZES
    repeat = 1 if args.quick else args.repeat
    runs = 3 if args.quick else args.runs
    out = click.echo

    out(f"Machine: {machine()}\n")
    out(f"Command: `{' '.join(['python', 'bench/run.py', *sys.argv[1:]])}`\n")

    out(f"### 1. Fan-out overhead (member latency {args.delay:g} s, arbiter {args.judge_delay:g} s)\n")
    rows = fanout.bench_server_alone(args.delay, repeat, sizes)
    rows += fanout.bench_engine(args.delay, args.judge_delay, repeat, sizes, rounds=(1, 2))
    rows += fanout.bench_stack(args.delay, args.judge_delay, repeat, sizes, rounds=(1,))
    rows += fanout.bench_stack(args.delay, args.judge_delay, repeat, (max(sizes),), rounds=(2,), sync_only=False)
    out(table([fanout.describe(r) for r in rows]) + "\n")

    out(f"### 2. Import cost (best of {runs} processes, ms)\n")
    costs = startup.import_cost(runs)
    out(table([{"what": k, "ms": f"{v:.2f}"} for k, v in costs.items()]) + "\n")

    out(f"### 3. `llm models` listing (in-process time, best of {runs} processes)\n")
    listing = startup.listing_cost((0, 100, 1000), runs)
    base = listing["0 consortiums"]
    out(table([
        {"saved consortiums": k, "ms": f"{v:.1f}", "added vs 0 (ms)": f"{v - base:.1f}"}
        for k, v in listing.items()
    ]) + "\n")

    out("### 4. Peak memory of one async full-stack call (fresh process)\n")
    memory = {n: fanout.peak_rss_mb(n, args.delay) for n in (1, 100)}
    out(table([{"members": n, "peak RSS (MB)": f"{mb:.1f}"} for n, mb in memory.items()]))
    out(f"\n100 members use {memory[100] - memory[1]:.1f} MB more than 1.\n")

    out("### 5. Orchestration CPU per participant call (engine, members answer at once)\n")
    cpu_rows = []
    for threads in (False, True):
        for count, rounds in ((24, 3), (100, 3)):
            ms = fanout.engine_cpu(count, rounds, 3 if args.quick else 10, threads)
            cpu_rows.append({
                "members": "blocking, in threads" if threads else "coroutines",
                "size": f"{count} members x {rounds} rounds",
                "CPU per call (ms)": f"{ms:.3f}",
            })
    out(table(cpu_rows) + "\n")

    out("### 6. Call modes: threads or the event loop (full stack, interleaved)\n")
    mode_sizes = (24,) if args.quick else (8, 24, 100)
    out(table(callmodes.bench_modes(args.delay, args.judge_delay, repeat, mode_sizes)) + "\n")
    out(table(callmodes.bench_sync_only_cap(args.delay, args.judge_delay)) + "\n")
    out(table(callmodes.memory_rows()) + "\n")

    interval = 0.01
    out(
        f"### 7. Streaming: time to the answer's first word (`llm` CLI subprocess; the arbiter streams "
        f"{stream.PIECE_CHARS}-character pieces every {interval * 1000:g} ms, "
        f"{stream.arbiter_seconds(interval):.1f} s for its whole reply)\n"
    )
    out(table(stream.bench_stream(interval=interval, repeat=1 if args.quick else 5)))

    out("\n### 8. Rate limits: a batch against a provider allowing 4 requests in flight\n")
    out(table(ratelimit.bench()))


if __name__ == "__main__":
    main()

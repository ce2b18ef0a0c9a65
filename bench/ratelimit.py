"""Throughput of a batch of consortium calls against a provider with a fixed in-flight
limit, as a share of that provider's capacity (slots / latency).

The provider is the test suite's loopback server in its own process, allowing
`--slots` requests in flight and answering the rest `429` with Retry-After at once.
Each consortium has three members on that provider (vote, one round), so every call
costs three member requests. Measured twice:

- one process: `--calls` consortium calls gathered on one event loop through llm's
  Python API (they share the model's adaptive gate);
- `--processes` concurrent `llm -m` processes, one call each, three ways: sharing
  the model's slots and learned window through the user dir's state file, from a
  cold start (nothing learned yet) and warm (a second batch in the same user dir), and
  with sharing off (`LLM_CONSORTIUM_SHARED_LIMITS=0`: each process learns alone);
  each way twice: started with the clock (as `xargs -P` starts them), and started up
  before it (each process has imported llm and loaded its plugins, then runs its
  command line when told to), since on 2 CPUs eight processes starting at once spend
  seconds before any of them can send a request.

Reported: wall time, member requests served per second as a share of capacity (over
the whole wall time, and over the span from the provider's first request served to its
last), calls failed, member answers lost, the 429s the provider sent, and 429s per
member answer (refused requests per useful one).
Run alone: `python bench/ratelimit.py`; `bench/run.py` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, reply, write_models_file

MODEL = "busy"
PANEL = "busy-panel"
MEMBERS = 3


def serve(args: argparse.Namespace) -> None:
    """Child: serve until stdin closes, then print what the provider saw as JSON."""
    with LoopbackServer() as server:
        server.limit_in_flight(args.slots, retry_after_ms=args.retry_after_ms)
        server.script(MODEL, reply("A member answer.", delay=args.delay))
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        sys.stdin.readline()
        seen = {
            "requests": len(server.requests),
            "refused": server.refused,
            "peak_in_flight": server.peak_in_flight,
            "busy": (server.last_work_done_at or 0) - (server.first_work_at or 0),
        }
        sys.stdout.write(json.dumps(seen) + "\n")
        sys.stdout.flush()
        sys.stdin.read()


class Provider:
    """Parent side of the child server: its URL, then what it saw when told to stop."""

    def __init__(self, slots: int, delay: float, retry_after_ms: float) -> None:
        command = [
            sys.executable, __file__, "--serve", "--slots", str(slots),
            "--delay", str(delay), "--retry-after-ms", str(retry_after_ms),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()

    def finish(self) -> dict[str, int]:
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        seen = json.loads(self.process.stdout.readline())
        self.process.stdin.close()
        self.process.wait()
        return seen


def prepare(url: str) -> Path:
    """A fresh LLM_USER_PATH holding the loopback model and the consortium."""
    user_dir = Path(tempfile.mkdtemp(prefix="llm-consortium-ratelimit-"))
    os.environ["LLM_USER_PATH"] = str(user_dir)
    os.environ.pop("OPENAI_API_KEY", None)
    write_models_file(user_dir, url, [MODEL])
    folder = user_dir / "consortiums"
    folder.mkdir()
    (folder / f"{PANEL}.yaml").write_text(
        f"name: {PANEL}\nmodels:\n- model_id: {MODEL}\n  count: {MEMBERS}\n"
        "strategy: vote\nmax_iterations: 1\nmin_members: 3\n"
    )
    return user_dir


def answered(trace: Any) -> int:
    """Member answers in a consortium response's trace."""
    if isinstance(trace, str):
        trace = json.loads(trace)
    return sum(
        1 for round_ in (trace or {}).get("rounds", []) for m in round_.get("members", []) if m.get("text")
    )


def one_process(calls: int) -> dict[str, Any]:
    import llm

    async def one(model: Any) -> int:
        response = model.prompt("What is the answer?")
        await response.text()
        return answered(response.response_json)

    model = llm.get_async_model(PANEL)  # loading plugins is not the batch's time

    async def batch() -> list[Any]:
        return await asyncio.gather(*(one(model) for _ in range(calls)), return_exceptions=True)

    started = time.monotonic()
    results = asyncio.run(batch())
    wall = time.monotonic() - started
    failed = [r for r in results if isinstance(r, BaseException)]
    got = sum(r for r in results if isinstance(r, int))
    return {"wall": wall, "calls": calls, "failed": len(failed), "answers": got}


# A real `llm` process that has started (imported llm, loaded its plugins) and runs
# its command line only when told to on stdin.
READY_THEN_RUN = (
    "import os, sys\n"
    "from llm.cli import cli\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "sys.stdin = open(os.devnull)\n"
    "cli.main(sys.argv[1:], prog_name='llm')\n"
)


def many_processes(processes: int, user_dir: Path, sharing: bool = True, ready: bool = False) -> dict[str, Any]:
    """`processes` concurrent `llm -m panel` calls; with `ready`, the clock starts once
    every process has started up (on 2 CPUs, 8 processes starting at once take ~4 s
    before the first can send anything: that is not the provider's capacity)."""
    llm_bin = str(Path(sys.executable).with_name("llm"))
    env = {**os.environ, "LLM_USER_PATH": str(user_dir), "LLM_CONSORTIUM_SHARED_LIMITS": "1" if sharing else "0"}
    # Create logs.db first, as any user's has been: eight first-ever runs at once
    # race in llm's own migrations ("table messages already exists"). llm's own
    # migration, run here, so the provider sees no request before the batch.
    import sqlite_utils
    from llm.migrations import migrate

    migrate(sqlite_utils.Database(user_dir / "logs.db"))
    command = [sys.executable, "-c", READY_THEN_RUN] if ready else [llm_bin]
    if not ready:
        started = time.monotonic()
    children = [
        subprocess.Popen(
            [*command, "-m", PANEL, "--no-log", f"Question {n}?"], env=env,
            stdin=subprocess.PIPE if ready else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(processes)
    ]
    if ready:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        started = time.monotonic()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
    outputs = [child.communicate() for child in children]
    wall = time.monotonic() - started
    codes = [child.returncode for child in children]
    said = {err.strip().splitlines()[-1] for (_, err), code in zip(outputs, codes, strict=True) if code and err.strip()}
    for line in sorted(said):
        print(f"(a failed call said: {line[:200]})", file=sys.stderr)
    warned = {line for (_, err), code in zip(outputs, codes, strict=True) if not code for line in err.splitlines()}
    for line in sorted(warned):
        print(f"(a call that answered said: {line[:200]})", file=sys.stderr)
    # --no-log and min_members 3: eight `llm` processes finishing together trip
    # over llm's own logging ("database is locked", with any model), and a call
    # that answered had every member answer.
    failed = sum(1 for code in codes if code != 0)
    got = MEMBERS * (processes - failed)
    return {"wall": wall, "calls": processes, "failed": failed, "answers": got}


def row(label: str, result: dict[str, Any], seen: dict[str, int], slots: int, delay: float) -> dict[str, Any]:
    requests = result["calls"] * MEMBERS
    capacity = slots / delay  # member requests per second the provider can serve
    share = result["answers"] / result["wall"] / capacity
    busy_share = result["answers"] / seen["busy"] / capacity if seen["busy"] > 0 else 0.0
    return {
        "batch": label,
        "wall (s)": f"{result['wall']:.2f}",
        "ideal (s)": f"{requests / capacity:.2f}",
        "share of capacity": f"{share:.0%}",
        "share while in use": f"{busy_share:.0%}",
        "calls failed": result["failed"],
        "member answers lost": requests - result["answers"],
        "429s sent": seen["refused"],
        "429s per answer": f"{seen['refused'] / max(result['answers'], 1):.2f}",
        "peak in flight": seen["peak_in_flight"],
    }


def bench(slots: int = 4, delay: float = 1.0, calls: int = 16, processes: tuple[int, ...] = (8, 16),
          retry_after_ms: float = 500) -> list[dict[str, Any]]:
    rows = []
    provider = Provider(slots, delay, retry_after_ms)
    try:
        prepare(provider.url)
        result = one_process(calls)
    finally:
        seen = provider.finish()
    rows.append(row(f"{calls} calls in one process", result, seen, slots, delay))
    for count in processes:
        if not count:
            continue
        for ready in (False, True):
            for label, sharing, again in (("shared, cold", True, False), ("shared, warm", True, True),
                                          ("not shared", False, False)):
                provider = Provider(slots, delay, retry_after_ms)
                try:
                    user_dir = prepare(provider.url)
                    if again:  # the first batch teaches the shared state; the provider's counts restart
                        many_processes(count, user_dir, sharing, ready)
                        provider.finish()
                        provider = Provider(slots, delay, retry_after_ms)
                        write_models_file(user_dir, provider.url, [MODEL])
                    result = many_processes(count, user_dir, sharing, ready)
                finally:
                    seen = provider.finish()
                when = "started up before the clock" if ready else "started with the clock"
                rows.append(row(f"{count} `llm` processes {when}, {label}", result, seen, slots, delay))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--slots", type=int, default=4, help="requests the provider allows in flight")
    parser.add_argument("--delay", type=float, default=1.0, help="provider latency, seconds")
    parser.add_argument("--retry-after-ms", type=float, default=500, help="the wait a 429 asks for")
    parser.add_argument("--calls", type=int, default=16, help="consortium calls in one process")
    parser.add_argument("--processes", type=int, nargs="*", default=[8, 16],
                        help="concurrent llm processes, one batch per number (0: none)")
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import table

    print(f"Provider: {args.slots} requests in flight, {args.delay:g} s each, "
          f"429 with Retry-After {args.retry_after_ms:g} ms beyond that; "
          f"{MEMBERS} members per consortium (vote, one round)\n")
    print(table(bench(args.slots, args.delay, args.calls, tuple(args.processes), args.retry_after_ms)))


if __name__ == "__main__":
    main()

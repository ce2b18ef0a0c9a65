"""Soaks of the two other long-lived processes: an `llm chat` session and an eval
interrupted and resumed (issue 39; the MCP server has its own soak).

- **chat**: one real `llm chat -m soak` process, driven through its stdin for
  `--turns` turns against the loopback server, with a fault injected in most turns
  in a fixed cycle: a member answering 500, a member refused with 429 (then
  answering), a member slower than the timeout, a member whose connection hangs,
  two members failing at once, the arbiter answering 500, the arbiter hanging.
  Checked: every turn's logged status is the one its fault calls for (`complete`
  only when nothing failed), every turn ends within two timeouts (members, then the
  arbiter) plus 5 s, the process's threads and asyncio tasks are back to their count
  after warm-up once its abandoned calls have ended, its RSS grows by less than
  20 MB after warm-up, and its stderr holds only the expected lines.
- **eval**: `llm consortiums eval soak items.jsonl` over `--items` items, with
  faults keyed by item (whatever order the items run in): interrupted with SIGINT
  at a third and at two thirds of its results, resumed with `--resume` each time.
  Checked: every system's total is the item count and its correct count the one its
  faults allow (nothing lost, nothing counted twice), the store holds one result per
  item and system, and each process's threads, tasks and RSS as above.

Threads and RSS are read from /proc; the asyncio tasks through a probe loaded only
in the soaked processes (`sitecustomize.py` in a temporary folder on PYTHONPATH,
answering SIGUSR1 with the count of tasks on the package's shared loop and on the
main thread's running loop). The loopback server runs in this process.

Run: `python bench/soak_chat_eval.py [--turns 200] [--items 500] [--timeout 2]
[--only chat|eval]`; exits 1 when a property fails. A short version runs in the test
suite (`tests/test_soak_chat_eval.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import (
    FAST_RETRY,
    NO_RETRY,
    Behaviour,
    LoopbackServer,
    RecordedRequest,
    error,
    hang,
    last_user_text,
    reply,
    tagged_verdict,
    write_models_file,
)

LLM_BIN = str(Path(sys.executable).with_name("llm"))
MEMBERS = ("alpha", "beta", "gamma")
RSS_GROWTH_MB = 20.0  # the most a process's RSS may grow after warm-up
SLACK = 5.0  # seconds a turn may take beyond its timeouts
PARALLEL = 4  # items an eval runs at once
WARM_UP_ITEMS = 100  # an eval process's warm-up, as the MCP soak's first 100 consults

PROBE = '''
import json, os, signal, sys, threading

def _tasks():
    import asyncio
    count, loops = 0, []
    shared = getattr(sys.modules.get("llm_consortium.adapter.loop"), "_loop", None)
    if shared is not None:
        loops.append(shared)
    running = asyncio._get_running_loop()
    if running is not None and running not in loops:
        loops.append(running)
    for loop in loops:
        count += len(asyncio.all_tasks(loop))
    return count

def _report(signum, frame):
    if os.environ.get("SOAK_COLLECT"):  # tell garbage from a leak: collect it, give the heap back
        from llm_consortium.memory import give_back_memory
        give_back_memory()
    with open(os.environ["SOAK_PROBE"], "a") as out:
        out.write(json.dumps({"tasks": _tasks(), "threads": threading.active_count()}) + "\\n")

if os.environ.get("SOAK_PROBE"):
    signal.signal(signal.SIGUSR1, _report)
'''


# ------------------------------------------------------------------ measuring a process


class Probe:
    """The counts of a soaked process: threads and RSS from /proc, asyncio tasks from
    the probe it loaded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "probe.jsonl"
        (folder / "sitecustomize.py").write_text(PROBE)

    def env(self) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(self.folder), os.environ.get("PYTHONPATH", "")) if p)
        return {"PYTHONPATH": path, "SOAK_PROBE": str(self.path)}

    def read(self, pid: int) -> dict[str, float]:
        """Threads, asyncio tasks and RSS (MB) of `pid` now."""
        before = self._lines()
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while self._lines() == before and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = json.loads(self.path.read_text().splitlines()[-1])
        rss = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
        if rss is None:
            raise ProcessLookupError(f"process {pid} has ended")
        return {"threads": answer["threads"], "tasks": answer["tasks"], "rss": int(rss.group(1)) / 1024}

    def _lines(self) -> int:
        return len(self.path.read_text().splitlines()) if self.path.exists() else 0

    def settled(self, pid: int, baseline: dict[str, float], seconds: float = 15.0) -> dict[str, float]:
        """The counts once the process's abandoned calls have ended (threads and
        tasks at the baseline again), or as they are after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            now = self.read(pid)
            if (now["threads"] <= baseline["threads"] and now["tasks"] <= baseline["tasks"]) or (
                time.monotonic() > deadline
            ):
                return now
            time.sleep(0.1)


@dataclass
class Findings:
    """What a soak found: figures for the report and the properties that failed."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def samples(
        self, label: str, warming: list[dict[str, float]], after: list[dict[str, float]], long_enough: bool = True,
    ) -> None:
        """Counts sampled while a process works, with no quiet moment to wait for
        (`PARALLEL` items at a time, each with calls starting and ending): the median
        count of threads and of tasks after its warm-up may pass the median during it
        by at most `PARALLEL` (one item's worth of jitter each; a leak of one per
        item would add hundreds), and its RSS must grow by less than the bound from
        the end of the warm-up. Only `long_enough` a run is judged: in a short one
        every sample is still warm-up. The most of each is shown too."""
        if not warming or not after:
            return
        warm = {key: statistics.median(sample[key] for sample in warming) for key in ("threads", "tasks")}
        end = {key: statistics.median(sample[key] for sample in after) for key in ("threads", "tasks")}
        most = [max(sample[key] for sample in group) for group in (warming, after) for key in ("threads", "tasks")]
        self.figures[f"{label}: most threads, tasks during warm-up -> after it"] = (
            f"{most[0]:.0f}, {most[1]:.0f} -> {most[2]:.0f}, {most[3]:.0f}"
        )
        self.counts(
            label, {**warm, "rss": warming[-1]["rss"]}, {**end, "rss": after[-1]["rss"]},
            f"median threads, tasks during warm-up -> after it ({len(warming)}, {len(after)} samples)",
            slack=PARALLEL, long_enough=long_enough,
        )

    def counts(
        self, label: str, warm: dict[str, float], end: dict[str, float],
        wording: str = "threads, tasks after warm-up -> at the end", slack: int = 0, long_enough: bool = True,
    ) -> None:
        """The warm-up and final counts of one process, and the rules on them."""
        self.figures[f"{label}: {wording}"] = (
            f"{warm['threads']:.0f}, {warm['tasks']:.0f} -> {end['threads']:.0f}, {end['tasks']:.0f}"
        )
        growth = end["rss"] - warm["rss"]
        self.figures[f"{label}: RSS after warm-up -> at the end (MB)"] = (
            f"{warm['rss']:.1f} -> {end['rss']:.1f} ({growth:+.1f})"
        )
        if not long_enough:
            self.figures[f"{label}: RSS after warm-up -> at the end (MB)"] += " (too short a run to judge)"
            return
        for key in ("threads", "tasks"):
            self.check(end[key] <= warm[key] + slack, f"{label}: {end[key]:.0f} {key}, {warm[key]:.0f} after warm-up")
        self.check(growth < RSS_GROWTH_MB, f"{label}: RSS grew {growth:.1f} MB after warm-up")


def _user_dir(server: LoopbackServer, timeout: float) -> Path:
    """A fresh LLM_USER_PATH with the loopback models and the `soak` consortium:
    three members, an arbiter always asked, one round, no retries. Each model counts
    in a limit group of its own: on the loopback's one endpoint they would share one
    window (4 at first), and a member's abandoned call, which keeps its lease until
    its thread ends, would leave the arbiter waiting for a slot."""
    from llm_consortium.saved import store
    from llm_consortium.saved.config import ConsortiumConfig

    folder = Path(tempfile.mkdtemp(prefix="llm-consortium-soak-"))
    write_models_file(folder, server.url, [*MEMBERS, "judge"])
    os.environ["LLM_USER_PATH"] = str(folder)  # where store.save writes
    store.save(ConsortiumConfig(  # each model its own limit group, as a hosted provider's models are
        name="soak", models=[{"model_id": m, "limit_group": m} for m in MEMBERS],
        arbiter={"model_id": "judge", "limit_group": "judge"},
        max_iterations=1, confidence_threshold=0.7, retries=0, timeout=timeout, skip_arbiter_on_agreement=False,
    ))
    return folder


def _env(user_dir: Path, probe: Probe) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "LLM_RAISE_ERRORS")}
    return {**env, "LLM_USER_PATH": str(user_dir), **probe.env()}


def _answer(body: dict[str, Any]) -> str:
    """The right answer to the last `What is N+N?` of the request: a member's or the
    baseline's as a number, the arbiter's (its prompt says which round it judges) as
    a tagged verdict."""
    text = last_user_text(body)
    numbers = re.findall(r"What is (\d+)\+(\d+)\?", text)
    answer = str(sum(int(n) for n in numbers[-1])) if numbers else "4"
    if "This is round" in text:
        return tagged_verdict(answer, 0.95)
    return answer


# ------------------------------------------------------------------ chat


@dataclass(frozen=True)
class Fault:
    """One turn's fault: what each model does, the status it calls for, and the one
    stderr line it calls for (None: none)."""

    name: str
    status: str
    scripts: dict[str, tuple[Behaviour, ...]]
    stderr: str | None = None


def _faults(timeout: float) -> list[Fault]:
    ok = reply(_answer)
    slow = reply(_answer, delay=timeout * 10)  # answers, but long after the timeout (released after the turn)
    stuck = hang(timeout * 10)  # holds the connection, never answers (released after the turn)
    refused = error(429, "Rate limit reached", dict(FAST_RETRY))
    broken = error(500, "Internal error", dict(NO_RETRY))
    partial = "Consortium soak: partial: {}"
    said_500 = "failed in round 1 (Error code: 500 - Internal error)"
    timed_out = f"failed in round 1 (timed out after {timeout:g}s)"
    vote = "the answer is the members' vote (3 of 3 agreed: alpha, beta, gamma)"
    return [
        Fault("none", "complete", {}),
        Fault("a member answers 500", "partial", {"alpha": (broken, ok)}, partial.format(f"alpha {said_500}")),
        Fault("a member is refused with 429, then answers", "complete", {"beta": (refused, ok)}),
        Fault("a member slower than its timeout", "partial", {"gamma": (slow, ok)},
              partial.format(f"gamma {timed_out}")),
        Fault("a member hangs", "partial", {"alpha": (stuck, ok)}, partial.format(f"alpha {timed_out}")),
        Fault("two members fail", "partial", {"alpha": (broken, ok), "gamma": (stuck, ok)},
              partial.format(f"alpha {said_500}; gamma {timed_out}")),
        Fault("the arbiter answers 500", "fallback", {"judge": (broken, ok)},
              f"Consortium: round 1: the arbiter failed (Error code: 500 - Internal error); {vote}"),
        Fault("the arbiter hangs", "fallback", {"judge": (stuck, ok)},
              f"Consortium: round 1: the arbiter failed (timed out after {timeout:g}s); {vote}"),
    ]


def _logged_statuses(user_dir: Path) -> list[str]:
    db = user_dir / "logs.db"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            rows = conn.execute("select response_json from turns order by rowid").fetchall()
        except sqlite3.OperationalError:  # llm is creating its tables
            return []
    return [(json.loads(row[0] or "{}").get("status") or "?") for row in rows]


class _Output:
    """A process's stdout, read as it comes (a pipe nobody reads would fill)."""

    def __init__(self, stream: Any) -> None:
        self.text = ""
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for piece in iter(lambda: stream.read(1), ""):
            with self.changed:
                self.text += piece
                self.changed.notify_all()

    def wait_for(self, ending: str, seconds: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.text.endswith(ending), seconds)


def soak_chat(turns: int, timeout: float, warm_up: int) -> Findings:
    found = Findings("llm chat")
    faults = _faults(timeout)
    with LoopbackServer() as server, tempfile.TemporaryDirectory(prefix="soak-probe-") as probe_dir:
        probe = Probe(Path(probe_dir))
        user_dir = _user_dir(server, timeout)
        for model in (*MEMBERS, "judge"):
            server.script(model, reply(_answer))
        stderr_path = user_dir / "chat.stderr"
        with open(stderr_path, "w") as stderr:
            chat = subprocess.Popen(
                [LLM_BIN, "chat", "-m", "soak"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=stderr, text=True, env=_env(user_dir, probe),
            )
        assert chat.stdin is not None
        output = _Output(chat.stdout)
        found.check(output.wait_for("\n> ", 120), "chat never asked for a prompt")
        walls: list[float] = []
        wrong: list[str] = []
        expected_stderr: list[str] = []
        warm = end = None
        try:
            for turn in range(1, turns + 1):
                fault = faults[turn % len(faults)]
                for model in (*MEMBERS, "judge"):
                    server.script(model, *fault.scripts.get(model, (reply(_answer),)))
                started = time.monotonic()
                chat.stdin.write(f"Turn {turn}. What is {turn}+{turn}?\n")
                chat.stdin.flush()
                bound = 2 * timeout + SLACK + 30  # past it the turn is lost: the soak stops
                statuses = _logged_statuses(user_dir)
                while len(statuses) < turn and chat.poll() is None and time.monotonic() - started < bound:
                    time.sleep(0.02)
                    statuses = _logged_statuses(user_dir)
                walls.append(time.monotonic() - started)
                if len(statuses) < turn:
                    found.check(False, f"turn {turn} ({fault.name}) never ended")
                    break
                if statuses[-1] != fault.status:
                    wrong.append(f"turn {turn} ({fault.name}): {statuses[-1]}, not {fault.status}")
                if fault.stderr is not None:
                    expected_stderr.append(fault.stderr)
                server.release_hangs(final=True)  # abandoned calls end; no retry reaches the next turn
                if turn == warm_up:
                    warm = probe.settled(chat.pid, probe.read(chat.pid), 0)
            if warm is not None:
                end = probe.settled(chat.pid, warm)
        finally:
            with contextlib.suppress(OSError):  # it may have ended already
                chat.stdin.write("exit\n")
                chat.stdin.close()
            try:
                chat.wait(60)
            except subprocess.TimeoutExpired:
                chat.kill()
                found.check(False, "chat did not exit at the end of its input")
        output.wait_for("", 5)
        answers = [piece.strip() for piece in output.text.split("\n> ")[1:] if piece.strip()]
        lines = [line for line in stderr_path.read_text().splitlines() if line.strip()]
        shutil.rmtree(user_dir, ignore_errors=True)
    right = [str(2 * turn) for turn in range(1, len(walls) + 1)]
    found.figures["turns"] = len(walls)
    found.figures["faults, in turn"] = ", ".join(f.name for f in faults)
    found.figures["turns with the wrong status"] = len(wrong)
    found.figures["turns with the wrong answer"] = sum(1 for a, b in zip(answers, right, strict=False) if a != b)
    found.figures["slowest turn (s), bound"] = f"{max(walls):.2f}, {2 * timeout + SLACK:g}"
    found.figures["stderr lines, expected"] = f"{len(lines)}, {len(expected_stderr)}"
    found.problems += wrong[:5]
    found.check(answers == right, f"answers {answers[:10]}..., expected {right[:10]}...")
    found.check(max(walls) <= 2 * timeout + SLACK, f"a turn took {max(walls):.2f} s")
    unexpected = [(got, want) for got, want in zip(lines, expected_stderr, strict=False) if got != want]
    found.check(len(lines) == len(expected_stderr) and not unexpected,
                f"stderr: {unexpected[:2] or lines[len(expected_stderr):][:3]}")
    found.check(chat.returncode == 0, f"chat exited with {chat.returncode}")
    if warm is not None and end is not None:
        found.counts("chat", warm, end)
    return found


# ------------------------------------------------------------------ eval


class _ItemFaults:
    """Each model's behaviour for an item's request, by the item's number: a fixed
    share of members fail or hang, the arbiter fails on some, and a 429 refuses the
    first request of others. Keyed by item, so any order of running gives the same
    outcome, and an item run again after an interruption meets the same faults."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.refused: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    @staticmethod
    def item(request: RecordedRequest) -> int:
        found = re.search(r"What is (\d+)\+", last_user_text(request.body))
        return int(found.group(1)) if found else 0

    def chooser(self, model: str) -> Callable[[RecordedRequest], Behaviour]:
        def choose(request: RecordedRequest) -> Behaviour:
            n = self.item(request)
            if model == "beta" and n % 7 == 0:
                return error(500, "Internal error", dict(NO_RETRY))
            if model == "gamma" and n % 11 == 0:
                return hang(self.timeout + 1)  # past the timeout; its abandoned thread ends soon after
            if model == "judge" and n % 13 == 0:
                return error(500, "Internal error", dict(NO_RETRY))
            if model == "alpha" and n % 5 == 0:
                key = (model, json.dumps(request.messages))
                with self.lock:
                    first = key not in self.refused
                    self.refused.add(key)
                if first:
                    return error(429, "Rate limit reached", dict(FAST_RETRY))
            return reply(_answer)

        return choose

    @staticmethod
    def expected(items: int) -> dict[str, int]:
        """Each system's correct count: alpha always; beta and gamma but for their
        faults; the consortium always (the vote decides when the arbiter fails, and
        alpha's and one other member's answers agree); the baseline (the arbiter's
        model alone) but for its faults."""
        numbers = range(1, items + 1)
        return {
            "soak": items,
            "alpha": items,
            "beta": sum(1 for n in numbers if n % 7),
            "gamma": sum(1 for n in numbers if n % 11),
            "baseline": sum(1 for n in numbers if n % 13),
        }


def soak_eval(items: int, timeout: float) -> Findings:
    found = Findings("eval")
    faults = _ItemFaults(timeout)
    systems = 5  # the consortium, three members alone, the baseline
    total = items * systems
    with LoopbackServer() as server, tempfile.TemporaryDirectory(prefix="soak-probe-") as probe_dir:
        probe = Probe(Path(probe_dir))
        user_dir = _user_dir(server, timeout)
        for model in (*MEMBERS, "judge"):
            server.choose(model, faults.chooser(model))
        dataset = user_dir / "items.jsonl"
        dataset.write_text("".join(json.dumps({"prompt": f"What is {n}+{n}?", "expected": str(2 * n)}) + "\n"
                                   for n in range(1, items + 1)))
        store = user_dir / "consortium-evals.db"
        command = [LLM_BIN, "consortiums", "eval", "soak", str(dataset), "--json", "--parallel", str(PARALLEL)]
        report: dict[str, Any] = {}
        bounds = (0, total // 3, 2 * total // 3, total)
        for part in (1, 2, 3):
            label = f"eval, part {part}"
            start, stop = _stored(store), bounds[part]
            last = part == 3
            with open(user_dir / "eval.stderr", "w") as stderr, open(user_dir / "eval.stdout", "w") as stdout:
                running = subprocess.Popen(  # files, not pipes: nobody reads them while it runs
                    command + (["--resume"] if part > 1 else []), stdout=stdout, stderr=stderr,
                    text=True, env=_env(user_dir, probe), preexec_fn=_default_sigint,
                )
                # Sampled while it runs: its first WARM_UP_ITEMS items (at most half its share
                # of the results) are its warm-up, the rest is compared with them; its
                # memory is judged once it ran at least 2 x WARM_UP_ITEMS / 2 items.
                samples: list[tuple[bool, dict[str, float]]] = []
                warm_up = 0
                while running.poll() is None:
                    stored = _stored(store)
                    if not last and stored >= stop:
                        samples.append((True, probe.read(running.pid)))
                        running.send_signal(signal.SIGINT)
                        break
                    if start < stored < stop:  # working: its probe is loaded, and it is not ending
                        with contextlib.suppress(OSError, ValueError, IndexError):  # it may be ending
                            warm_up = min(WARM_UP_ITEMS * systems, (stop - start) // 2)
                            warmed = stored >= start + warm_up
                            samples.append((warmed, probe.read(running.pid)))
                    time.sleep(0.2)
                running.wait(120)
            out, err = (user_dir / "eval.stdout").read_text(), (user_dir / "eval.stderr").read_text()
            surprises = _unexpected_eval_stderr(err, items, interrupted=not last, resumed=part > 1)
            found.check(not surprises, f"{label}: unexpected stderr {surprises[:3]}")
            found.check(running.returncode == (0 if last else 130), f"{label}: exit {running.returncode}: {err[-500:]}")
            if last and running.returncode == 0:
                report = json.loads(out)
            found.figures[f"{label}: results stored when it ended"] = _stored(store)
            found.samples(
                label, [s for after, s in samples if not after], [s for after, s in samples if after],
                long_enough=warm_up >= WARM_UP_ITEMS * systems // 2,  # a short run is all warm-up
            )
        rows = _stored(store)
        shutil.rmtree(user_dir, ignore_errors=True)
    got = {_system_key(s): (s["correct"], s["total"]) for s in report.get("systems", [])}
    want = {key: (correct, items) for key, correct in _ItemFaults.expected(items).items()}
    found.figures["systems: correct/total (expected)"] = "; ".join(
        f"{key} {'/'.join(map(str, got.get(key, ('?', '?'))))} ({want[key][0]}/{items})" for key in want
    )
    found.figures["results stored, expected"] = f"{rows}, {items * systems}"
    found.check(got == want, f"report {got}, expected {want}")
    found.check(rows == items * systems, f"{rows} results stored, not {items * systems}")
    return found


def _default_sigint() -> None:
    """In the child: SIGINT raises KeyboardInterrupt, even under a parent that ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=30) as conn:
            return int(conn.execute("select count(*) from results").fetchone()[0])
    except sqlite3.OperationalError:  # eval is creating its tables
        return 0


def _system_key(system: dict[str, Any]) -> str:
    return "baseline" if system.get("kind") == "baseline" else str(system.get("name", ""))


def _unexpected_eval_stderr(err: str, items: int, *, interrupted: bool, resumed: bool) -> list[str]:
    """The lines of an eval's stderr that nothing calls for: a run's warning names
    its item, whose faults must call for one; then one line saying what was reused
    (a resumed eval) and one saying what is stored (an interrupted one)."""
    faulty = {n for n in range(1, items + 1) if n % 7 == 0 or n % 11 == 0 or n % 13 == 0}
    surprises = []
    for line in err.splitlines():
        warned = re.match(r"Eval, (consortium soak|member \w+|baseline \w+), item on line (\d+): ", line)
        if warned and int(warned.group(2)) in faulty:
            continue
        if resumed and re.fullmatch(r"Reused \d+ stored results \(--resume\)\.", line):
            continue
        if interrupted and re.fullmatch(
            r"Interrupted\. \d+ finished results are stored; run the same command with --resume to continue\.", line
        ):
            continue
        surprises.append(line)
    return surprises


# ------------------------------------------------------------------ the report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=3.0, help="the consortium's timeout per call (s)")
    parser.add_argument("--only", choices=("chat", "eval"))
    parser.add_argument(
        "--collect", action="store_true",
        help="before each measurement the soaked process collects its garbage and trims its heap "
        "(garbage or a leak?)",
    )
    args = parser.parse_args()
    if args.collect:
        os.environ["SOAK_COLLECT"] = "1"  # the soaked processes inherit it
    results = []
    if args.only in (None, "chat"):
        results.append(soak_chat(args.turns, args.timeout, warm_up=max(8, min(20, args.turns // 10))))
    if args.only in (None, "eval"):
        results.append(soak_eval(args.items, args.timeout))
    failed = False
    for found in results:
        print(f"## {found.name}")
        for key, value in found.figures.items():
            print(f"- {key}: {value}")
        for problem in found.problems:
            print(f"- FAILED: {problem}")
        failed = failed or bool(found.problems)
        print(flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

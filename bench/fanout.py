"""Fan-out overhead, orchestration CPU and memory of a consortium call.

Every member answers after the same fixed delay and the arbiter after its own, so the
best possible wall time of a call is rounds x (member delay + arbiter delay): the
critical path. The overhead is how far a real call is from it.

Paths measured:
- engine: `engine.run` with in-process members (coroutines awaiting the delay, or
  blocking functions sleeping in their own threads, the way sync-only llm models run);
- stack: `llm.get_model(...)` / `llm.get_async_model(...)` through llm's real OpenAI
  plugin to the loopback server in another process (see backend.py), and the same
  with sync-only member models registered by a tiny in-benchmark plugin.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llm
from llm.plugins import pm

from llm_consortium import engine
from llm_consortium.adapter import loop
from llm_consortium.calls.threads import in_thread
from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.types import Call, Participant, Reply, Result, Settings

from backend import Backend, member_names, tagged_verdict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from loopback import write_models_file

SIZES = (1, 8, 24, 100)


@dataclass
class Row:
    path: str
    members: int
    rounds: int
    critical: float
    walls: list[float]
    cpu_ms_per_call: float

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def ratio(self) -> float:
        return self.wall / self.critical

    @property
    def overhead_ms(self) -> float:
        return (self.wall - self.critical) * 1000


# --------------------------------------------------------------------------- engine


def _verdict_for(refine: bool) -> Callable[[Call], str]:
    def text(call: Call) -> str:
        if refine and "This is round 1 of" in call.prompt:
            return tagged_verdict("A first draft.", 0.4, "Be more precise.")
        return tagged_verdict("The benchmark answer.", 0.95)

    return text


def _async_participant(model_id: str, delay: float, text: Callable[[Call], str]):
    async def call(c: Call) -> Reply:
        await asyncio.sleep(delay)
        return Reply(text(c), 10, 5)

    return Participant(model_id, call)


def _thread_participant(model_id: str, delay: float, text: Callable[[Call], str]):
    async def call(c: Call) -> Reply:
        def blocking() -> Reply:
            time.sleep(delay)
            return Reply(text(c), 10, 5)

        return await in_thread(blocking)

    return Participant(model_id, call)


def engine_call(count: int, delay: float, judge_delay: float, rounds: int, threads: bool):
    """A zero-argument coroutine factory running one engine deliberation."""
    make = _thread_participant if threads else _async_participant
    members = [make(name, delay, lambda c: "A member answer.") for name in member_names(count)]
    arbiter = make("judge", judge_delay, _verdict_for(rounds > 1))
    settings = Settings(max_iterations=rounds, confidence_threshold=0.7)

    async def one() -> Result:
        return await engine.run(Call("What is the answer?"), members, arbiter, settings)

    return one


def bench_engine(delay: float, judge_delay: float, repeat: int, sizes=SIZES, rounds=(1,)) -> list[Row]:
    rows = []
    for threads, label in ((False, "engine, async members"), (True, "engine, sync members (threads)")):
        for r in rounds:
            for count in sizes:
                factory = engine_call(count, delay, judge_delay, r, threads)
                walls = []
                cpu = time.process_time()
                for _ in range(repeat):
                    started = time.perf_counter()
                    result = loop.run_sync(factory)
                    walls.append(time.perf_counter() - started)
                    assert len(result.rounds) == r, result.rounds
                cpu_ms = (time.process_time() - cpu) * 1000 / (repeat * r * (count + 1))
                rows.append(Row(label, count, r, r * (delay + judge_delay), walls, cpu_ms))
    return rows


def engine_cpu(count: int, rounds: int, runs: int, threads: bool) -> float:
    """Process CPU milliseconds per participant call, members answering at once."""
    factory = engine_call(count, 0.0, 0.0, rounds, threads)
    loop.run_sync(factory)  # warm-up: imports, first-use caches
    started = time.process_time()
    for _ in range(runs):
        loop.run_sync(factory)
    calls = runs * rounds * (count + 1)
    return (time.process_time() - started) * 1000 / calls


# ---------------------------------------------------------------------------- stack


class _SyncOnly(llm.Model):
    """A model with no async twin, as many plugins are: a blocking call per prompt.

    It forwards to the loopback OpenAI model `inner_id`, looked up on first use (a
    lookup inside register_models would recurse into the registry).
    """

    can_stream = False

    def __init__(self, model_id: str, inner_id: str) -> None:
        self.model_id = model_id
        self.inner_id = inner_id
        self.inner: llm.Model | None = None

    def execute(self, prompt, stream, response, conversation):
        if self.inner is None:
            self.inner = llm.get_model(self.inner_id)
        inner = self.inner.prompt(prompt.prompt, system=prompt.system or None, stream=False)
        yield inner.text()
        usage = inner.usage()
        response.set_usage(input=usage.input, output=usage.output)


class _SyncOnlyPlugin:
    """Registers `sync-m001`... forwarding to the loopback models `m001`..."""

    def __init__(self, count: int) -> None:
        self.models = [_SyncOnly(f"sync-{name}", name) for name in member_names(count)]

    @llm.hookimpl
    def register_models(self, register):
        for model in self.models:
            register(model)


def _prepare_user_dir(url: str, count: int) -> Path:
    """A fresh LLM_USER_PATH with the loopback models and the bench consortiums."""
    user_dir = Path(tempfile.mkdtemp(prefix="llm-consortium-bench-"))
    os.environ["LLM_USER_PATH"] = str(user_dir)
    os.environ.pop("OPENAI_API_KEY", None)
    write_models_file(user_dir, url, [*member_names(count), "judge"])
    return user_dir


def _save(name: str, members: list[str], rounds: int) -> None:
    store.save(
        ConsortiumConfig(
            name=name,
            models=[{"model_id": m} for m in members],
            arbiter={"model_id": "judge"},
            max_iterations=rounds,
            confidence_threshold=0.7,
            retries=0,
        )
    )


def stack_call(name: str, mode: str) -> Callable[[], str]:
    """One whole call as a user makes it, in `mode` sync or async."""
    if mode == "async":

        async def go() -> str:
            return await llm.get_async_model(name).prompt("What is the answer?").text()

        return lambda: asyncio.run(go())
    return lambda: llm.get_model(name).prompt("What is the answer?").text()


def llm_alone_call(count: int, rounds: int) -> Callable[[], str]:
    """The floor under any orchestrator built on llm: one registry pass, the members'
    prompts gathered concurrently, then one arbiter prompt, per round; no consortium."""

    async def go() -> str:
        registry = {m.model.model_id: m.async_model for m in llm.get_models_with_aliases()}
        text = ""
        for _ in range(rounds):
            prompts = [registry[name].prompt("What is the answer?") for name in member_names(count)]
            await asyncio.gather(*(p.text() for p in prompts))
            text = await registry["judge"].prompt("Judge these answers. This is round 2 of 2.").text()
        return text

    return lambda: asyncio.run(go())


def bench_stack(delay: float, judge_delay: float, repeat: int, sizes=SIZES, rounds=(1,), sync_only=True) -> list[Row]:
    rows = []
    biggest = max(sizes)
    for r in rounds:
        with Backend(biggest, delay, judge_delay, refine=r > 1) as backend:
            user_dir = _prepare_user_dir(backend.url, biggest)
            try:
                pm.register(_SyncOnlyPlugin(biggest), name="bench-sync-only")
                variants = [
                    ("llm alone: concurrent prompts, no consortium", "floor", ""),
                    ("stack, async API", "async", ""),
                    ("stack, sync API", "sync", ""),
                ]
                if sync_only:
                    variants.append(("stack, sync API, sync-only members", "sync", "sync-"))
                for count in sizes:
                    for label, mode, prefix in variants:
                        name = f"bench-{prefix}{count}-{r}"
                        _save(name, [prefix + m for m in member_names(count)], r)
                        call = llm_alone_call(count, r) if mode == "floor" else stack_call(name, mode)
                        call()  # warm-up: first-use imports and caches
                        walls = []
                        cpu = time.process_time()
                        for _ in range(repeat):
                            started = time.perf_counter()
                            text = call()
                            walls.append(time.perf_counter() - started)
                            assert "benchmark answer" in text, text
                        cpu_ms = (time.process_time() - cpu) * 1000 / (repeat * r * (count + 1))
                        rows.append(Row(label, count, r, r * (delay + judge_delay), walls, cpu_ms))
            finally:
                if pm.has_plugin("bench-sync-only"):
                    pm.unregister(name="bench-sync-only")
                _remove(user_dir)
    return rows


def bench_server_alone(delay: float, repeat: int, sizes=SIZES) -> list[Row]:
    """The loopback server's own floor: raw concurrent HTTP requests, no client stack."""
    from backend import server_alone

    rows = []
    with Backend(max(sizes), delay, 0.0) as backend:
        for count in sizes:
            walls = [server_alone(backend, count) for _ in range(repeat)]
            rows.append(Row("loopback server alone (raw HTTP)", count, 1, delay, walls, float("nan")))
    return rows


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- memory


def peak_rss_mb(count: int, delay: float) -> float:
    """Peak RSS (MB) of a fresh process making one async full-stack call of `count` members."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(count), str(delay)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent,
    )
    return float(out.stdout.strip())


def _memory_child(count: int, delay: float) -> None:
    with Backend(count, delay, delay) as backend:
        user_dir = _prepare_user_dir(backend.url, count)
        try:
            _save("bench-memory", member_names(count), 1)
            text = stack_call("bench-memory", "async")()
            assert "benchmark answer" in text, text
        finally:
            _remove(user_dir)
    sys.stdout.write(f"{_peak_kb() / 1024:.1f}\n")


def _peak_kb() -> int:
    """This process's peak RSS. Linux's VmHWM belongs to the address space exec made;
    ru_maxrss would report the parent's peak, inherited through fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
    _memory_child(int(sys.argv[2]), float(sys.argv[3]))


def describe(row: Row) -> dict[str, Any]:
    return {
        "path": row.path,
        "members": row.members,
        "rounds": row.rounds,
        "critical path (s)": f"{row.critical:.2f}",
        "wall, median (s)": f"{row.wall:.3f}",
        "overhead (ms)": f"{row.overhead_ms:.0f}",
        "wall / critical": f"{row.ratio:.3f}",
        "client CPU per call (ms)": "-" if row.cpu_ms_per_call != row.cpu_ms_per_call else f"{row.cpu_ms_per_call:.2f}",
    }

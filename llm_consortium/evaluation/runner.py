"""Running an eval: every item through the consortium, each member alone and the
same-budget baseline, `parallel` items at a time, each finished result stored at once.

Every call goes through `engine.run` with the participants `resolve` built, so the
eval inherits the scheduling, rate limiting and retry policy of ordinary runs. A
failure is a result like any other (recorded with its error); only cancellation
(Ctrl-C) stops the eval, and what finished before it stays stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import engine
from ..errors import ConsortiumFailed
from ..types import Call
from .agreement import unanimous
from .dataset import Item
from .judging import Scoring
from .results import ResultStore, digest

ConsortiumFn = Callable[[Item], Awaitable[dict[str, Any]]]
"""Runs the consortium on an item; returns its trace (as `Result.trace()` gives it)
plus "text". The default calls `engine.run`; `--log` swaps in the llm model path."""


@dataclass(frozen=True)
class System:
    key: str  # stable, part of the stored result's key
    kind: str  # "consortium", "member" or "baseline"
    name: str


@dataclass
class Plan:
    """What the eval runs: resolved participants and which systems to score."""

    name: str
    members: list[Any]
    arbiter: Any | None
    settings: Any
    system_prompt: str | None = None
    baseline: Any | None = None  # None: --no-baseline
    include_members: bool = True
    consortium: ConsortiumFn | None = None

    def systems(self) -> list[System]:
        found = [System("consortium", "consortium", self.name)]
        if self.include_members:
            found += [System(f"member:{m.model_id}", "member", m.model_id) for m in self.solo()]
        if self.baseline is not None:
            found.append(System(f"baseline:{self.baseline.model_id}", "baseline", self.baseline.model_id))
        return found

    def solo(self) -> list[Any]:
        """Each member model once (a member listed with a count runs alone once)."""
        seen: dict[str, Any] = {}
        for member in self.members:
            seen.setdefault(member.model_id, member)
        return list(seen.values())


Progress = Callable[[int, int, int], None]  # items done, errors so far, tokens so far


def _empty(error: str, started: float) -> dict[str, Any]:
    return {
        "answer": None, "error": error, "calls": 0, "input_tokens": 0, "output_tokens": 0,
        "usage": {}, "latency_ms": _ms(started),
    }


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def _from_trace(trace: dict[str, Any], started: float) -> dict[str, Any]:
    """A stored result from a run's trace: the answer, the usage, each judged round's answer."""
    per_model = trace["usage"]["per_model"]
    rounds = []
    for record in trace["rounds"]:
        answer = None
        if "vote" in record:
            answer = record["vote"]["groups"][0]["answer"]
        elif isinstance(record.get("arbiter"), dict) and "synthesis" in record["arbiter"]:
            answer = record["arbiter"]["synthesis"]
        if answer is not None:
            rounds.append({"round": record["round"], "answer": answer})
    return {
        "answer": trace["text"],
        "error": None,
        "calls": sum(row["calls"] for row in per_model.values()),
        "input_tokens": trace["usage"]["input"],
        "output_tokens": trace["usage"]["output"],
        "usage": per_model,
        "latency_ms": _ms(started),
        "confidence": trace["confidence"],
        "final_round": trace["final_round"],
        "rounds": rounds,
        "member_calls": sum(len(record["members"]) for record in trace["rounds"]),
        "unanimous": unanimous(trace),
    }


class Runner:
    def __init__(
        self,
        plan: Plan,
        *,
        settings_key: str,
        scoring: Scoring,
        store: ResultStore | None = None,
        resume: bool = False,
        parallel: int = 4,
        progress: Progress | None = None,
    ) -> None:
        self.plan = plan
        self.settings_key = settings_key
        self.scoring = scoring
        self.store = store
        self.resume = resume
        self.parallel = max(1, parallel)
        self.progress = progress
        self.reused = 0
        self.stored = 0
        self._done = self._errors = self._tokens = 0
        self._one_shot = replace(
            plan.settings, strategy="vote", max_iterations=1, min_iterations=1, min_members=1
        )

    async def run(self, items: list[Item]) -> list[dict[str, Any]]:
        """Scored rows for every item and system, in item then system order."""
        rows: list[dict[str, Any]] = []
        queue = iter(items)

        async def worker() -> None:
            for item in queue:
                found = await self.item(item)
                rows.extend(found)
                self._done += 1
                self._errors += sum(1 for row in found if row["error"])
                self._tokens += sum(row["input_tokens"] + row["output_tokens"] for row in found)
                if self.progress is not None:
                    self.progress(self._done, self._errors, self._tokens)

        await asyncio.gather(*(worker() for _ in range(min(self.parallel, len(items)) or 1)))
        order = {system.key: number for number, system in enumerate(self.plan.systems())}
        rows.sort(key=lambda row: (row["item"], order[row["system"]]))
        return rows

    def _request(self, item: Item) -> Any:
        system = "\n\n".join(s for s in (self.plan.system_prompt, item.system) if s)
        return Call(item.prompt, system or None)

    async def _stored(self, item: Item, system: System, run: Callable[[], Awaitable[dict[str, Any]]],
                      fits: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
        """A finished result: the stored one when resuming (unless it failed, or no
        longer fits), else a fresh run, stored the moment it finishes."""
        if self.store is not None and self.resume:
            found = self.store.get(item_key(item), self.settings_key, system.key)
            if found is not None and not found["error"] and fits(found):
                self.reused += 1
                return found
        record = await run()
        if self.store is not None:
            self.store.put(item_key(item), self.settings_key, system.key, record)
            self.stored += 1
        return record

    async def _consortium(self, item: Item, request: Any) -> dict[str, Any]:
        started = time.monotonic()
        try:
            if self.plan.consortium is not None:
                trace = await self.plan.consortium(item)
            else:
                result = await engine.run(request, self.plan.members, self.plan.arbiter, self.plan.settings)
                trace = {**result.trace(), "text": result.text}
        except ConsortiumFailed as ex:
            return _empty(str(ex), started)
        except Exception as ex:  # a plugin's bug must not end the whole eval
            return _empty(_describe(ex), started)
        return _from_trace(trace, started)

    async def _alone(self, request: Any, participants: list[Any]) -> dict[str, Any]:
        """One call per participant, answers grouped by the vote rules."""
        started = time.monotonic()
        try:
            result = await engine.run(request, participants, None, self._one_shot)
        except ConsortiumFailed as ex:
            return _empty(str(ex), started)
        except Exception as ex:
            return _empty(_describe(ex), started)
        record = _from_trace({**result.trace(), "text": result.text}, started)
        for key in ("final_round", "rounds", "member_calls"):
            record.pop(key)
        if len(participants) == 1:
            record.pop("confidence")
        return record

    async def item(self, item: Item) -> list[dict[str, Any]]:
        request = self._request(item)
        systems = {system.key: system for system in self.plan.systems()}
        solo = {f"member:{m.model_id}": m for m in self.plan.solo()} if self.plan.include_members else {}
        tasks = [self._stored(item, systems["consortium"], lambda: self._consortium(item, request))]
        tasks += [
            self._stored(item, systems[key], lambda m=member: self._alone(request, [m]))
            for key, member in solo.items()
        ]
        records = dict(zip(["consortium", *solo], await asyncio.gather(*tasks), strict=True))
        baseline = self.plan.baseline
        if baseline is not None:
            samples = records["consortium"].get("member_calls") or len(self.plan.members)
            sampled = [replace(baseline, instance=number) for number in range(1, samples + 1)]

            async def run_baseline() -> dict[str, Any]:
                return {**await self._alone(request, sampled), "samples": samples}

            key = f"baseline:{baseline.model_id}"
            records[key] = await self._stored(
                item, systems[key], run_baseline, fits=lambda found: found.get("samples") == samples
            )
        return [await self._scored(item, systems[key], record) for key, record in records.items()]

    async def _scored(self, item: Item, system: System, record: dict[str, Any]) -> dict[str, Any]:
        row = {"item": item.index, "line": item.line, "system": system.key, "kind": system.kind,
               "name": system.name, **record, "correct": False, "score_error": None}
        if record["error"] is None:
            row["correct"], row["score_error"] = await self.scoring.score(item.prompt, item.expected, record["answer"])
        if system.kind == "consortium":
            rounds = []
            for entry in record.get("rounds") or []:
                correct, error = await self.scoring.score(item.prompt, item.expected, entry["answer"])
                rounds.append({**entry, "correct": None if error else correct})
            row["rounds"] = rounds
        return row


def item_key(item: Item) -> str:
    """What a stored result is for: the item's content (what the systems are asked),
    not its place in a file."""
    return digest(["item", item.prompt, item.system])


def _describe(ex: Exception) -> str:
    return f"{type(ex).__name__}: {ex}"

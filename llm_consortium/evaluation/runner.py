"""Running an eval: every item through each consortium, each distinct member alone
and each consortium's same-budget baseline, `parallel` items at a time, each
finished result stored at once.

Every call goes through `engine.run` with the participants `resolve` built, so the
eval inherits the scheduling, rate limiting and retry policy of ordinary runs. A
failure is a result like any other (recorded with its error); only cancellation
(Ctrl-C) stops the eval, and what finished before it stays stored.

A result is keyed by what it depends on (the item, the system and that system's own
settings), not by the consortium that asked for it: a member shared by two
consortiums runs alone once per item, and so does a baseline two consortiums share.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from .. import engine
from ..errors import ConsortiumFailed
from ..memory import after_run
from ..types import Call
from .bar import RUNNING
from .dataset import Item
from .judge_scoring import Scoring
from .result_store import ResultStore, digest
from .trace_results import empty, from_trace

ConsortiumFn = Callable[[Item], Awaitable[dict[str, Any]]]
"""Runs the consortium on an item; returns its trace (as `Result.trace()` gives it)
plus "text". The default calls `engine.run`; `--log` swaps in the llm model path."""


@dataclass
class Entrant:
    """One consortium under evaluation, resolved. `identity` is what its answers
    depend on (its saved configuration); `member_identity` what a member alone
    depends on beyond its model id (its options), by model id."""

    name: str
    members: list[Any]
    arbiter: Any | None
    settings: Any
    system_prompt: str | None = None
    baseline: Any | None = None  # None: --no-baseline
    consortium: ConsortiumFn | None = None
    identity: Any = None
    member_identity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class System:
    """A row of the report. `key` names it in the report ("consortium:NAME",
    "member:MODEL", "baseline:NAME"); `of` are the consortiums it belongs to (a
    member may belong to several; a baseline matches one consortium's budget)."""

    key: str
    kind: str  # "consortium", "member" or "baseline"
    name: str
    of: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "name": self.name, "of": list(self.of)}


@dataclass(frozen=True)
class Solo:
    """A member model alone: one per distinct (model, options, system prompt)."""

    system: System
    participant: Any
    identity: Any
    system_prompt: str | None
    settings: Any


@dataclass
class Plan:
    """What the eval runs: the consortiums, and whether to score members alone."""

    consortiums: list[Entrant]
    include_members: bool = True

    def solos(self) -> list[Solo]:
        """Each distinct member once, however many consortiums (or counts) list it."""
        found: dict[str, tuple[Any, Any, Entrant, list[str]]] = {}
        for entrant in self.consortiums:
            for member in entrant.members:
                identity = [member.model_id, entrant.member_identity.get(member.model_id), entrant.system_prompt]
                key = digest(identity)
                if key not in found:
                    found[key] = (member, identity, entrant, [])
                if entrant.name not in found[key][3]:
                    found[key][3].append(entrant.name)
        per_model: dict[str, int] = {}
        for member, *_ in found.values():
            per_model[member.model_id] = per_model.get(member.model_id, 0) + 1
        solos = []
        for member, identity, entrant, owners in found.values():
            name = member.model_id
            if per_model[name] > 1:  # the same model set up differently in two consortiums
                name = f"{name} ({entrant.name})"
            system = System(f"member:{name}", "member", name, tuple(owners))
            solos.append(Solo(system, replace(member, instance=1), identity, entrant.system_prompt, entrant.settings))
        return solos

    def systems(self) -> list[System]:
        """The report's rows in order: consortiums, members alone, baselines."""
        found = [System(f"consortium:{e.name}", "consortium", e.name, (e.name,)) for e in self.consortiums]
        if self.include_members:
            found += [solo.system for solo in self.solos()]
        found += [
            System(f"baseline:{e.name}", "baseline", e.baseline.model_id, (e.name,))
            for e in self.consortiums
            if e.baseline is not None
        ]
        return found


Progress = Callable[[int, int, int], None]  # items done, errors so far, tokens so far


def one_shot(settings: Any) -> Any:
    """One round, no arbiter, answers grouped by the vote rules: how a member alone
    and the same-budget baseline answer."""
    return replace(settings, strategy="vote", max_iterations=1, min_iterations=1, min_members=1)


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
        self.settings_key = settings_key  # what every result depends on (the format, the fields read)
        self.scoring = scoring
        self.store = store
        self.resume = resume
        self.parallel = max(1, parallel)
        self.progress = progress
        self.reused = 0
        self.stored = 0
        self._done = self._errors = self._tokens = 0
        self._systems = plan.systems()
        self._solos = plan.solos() if plan.include_members else []

    async def run(self, items: list[Item]) -> list[dict[str, Any]]:
        """Scored rows for every item and system, in item then system order."""
        rows: list[dict[str, Any]] = []
        keys = item_keys(items)
        queue = iter(zip(items, keys, strict=True))

        async def worker() -> None:
            for item, key in queue:
                found = await self.item(item, key)
                after_run()
                rows.extend(found)
                self._done += 1
                self._errors += sum(1 for row in found if row["error"])
                self._tokens += sum((row["input_tokens"] or 0) + (row["output_tokens"] or 0) for row in found)
                if self.progress is not None:
                    self.progress(self._done, self._errors, self._tokens)

        async with asyncio.TaskGroup() as group:  # Ctrl-C cancels every worker together
            for _ in range(min(self.parallel, len(items)) or 1):
                group.create_task(worker())
        order = {system.key: number for number, system in enumerate(self._systems)}
        rows.sort(key=lambda row: (row["item"], order[row["system"]]))
        return rows

    def _settings(self, *identity: Any) -> str:
        return digest([self.settings_key, *identity])

    async def _stored(self, item: str, settings: str, system: str,
                      run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """A finished result: the stored one when resuming (unless it failed), else a
        fresh run, stored the moment it finishes. Either way it is returned as the
        store holds it (through JSON), so a live report and a resumed one are made of
        the same values."""
        if self.store is not None and self.resume:
            found = self.store.get(item, settings, system)
            if found is not None and not found["error"]:
                self.reused += 1
                return found
        record = await run()
        if self.store is not None:
            self.store.put(item, settings, system, record)
            self.stored += 1
        result: dict[str, Any] = json.loads(json.dumps(record))
        return result

    async def item(self, item: Item, key: str | None = None) -> list[dict[str, Any]]:
        """Every system's scored row for one item; a result two systems share runs once."""
        key = key or item_keys([item])[0]
        jobs: dict[tuple[str, str], asyncio.Task[dict[str, Any]]] = {}

        def in_group(group: asyncio.TaskGroup) -> Callable[..., asyncio.Task[dict[str, Any]]]:
            def job(settings: str, system: str, run: Callable[[], Awaitable[dict[str, Any]]]) -> Any:
                if (settings, system) not in jobs:
                    jobs[settings, system] = group.create_task(self._stored(key, settings, system, run))
                return jobs[settings, system]

            return job

        async with asyncio.TaskGroup() as group:  # Ctrl-C cancels every system's run together
            first = self._first_jobs(item, in_group(group))
        records = {name: task.result() for name, task in first.items()}
        later = {}
        async with asyncio.TaskGroup() as group:
            job = in_group(group)
            for e in self.plan.consortiums:
                if e.baseline is not None:
                    samples = records[f"consortium:{e.name}"].get("member_calls") or len(e.members)
                    identity = ("baseline", e.baseline.model_id, e.system_prompt)
                    later[f"baseline:{e.name}"] = job(self._settings(*identity), f"baseline x{samples}",
                                                      partial(self._baseline, item, e, samples))
        records |= {name: task.result() for name, task in later.items()}
        return [await self._scored(item, system, records[system.key]) for system in self._systems]

    def _first_jobs(self, item: Item, job: Callable[..., Any]) -> dict[str, Any]:
        """The runs that need nothing else: each consortium and each member alone."""
        first = {
            f"consortium:{e.name}": job(self._settings("consortium", e.identity), "consortium",
                                         partial(self._consortium, item, e))
            for e in self.plan.consortiums
        }
        first |= {
            solo.system.key: job(self._settings("member", solo.identity), "member",
                                 partial(self._alone, self._request(item, solo.system_prompt),
                                         [solo.participant], solo.settings,
                                         _who(f"member {solo.system.name}", item)))
            for solo in self._solos
        }
        return first

    def _request(self, item: Item, system_prompt: str | None) -> Call:
        system = "\n\n".join(s for s in (system_prompt, item.system) if s)
        return Call(item.prompt, system or None)

    async def _consortium(self, item: Item, entrant: Entrant) -> dict[str, Any]:
        started = time.monotonic()
        RUNNING.set(_who(f"consortium {entrant.name}", item))  # this task's own context
        try:
            if entrant.consortium is not None:
                trace = await entrant.consortium(item)
            else:
                request = self._request(item, entrant.system_prompt)
                result = await engine.run(request, entrant.members, entrant.arbiter, entrant.settings)
                trace = {**result.trace(), "text": result.text}
        except ConsortiumFailed as ex:
            return empty(str(ex), started, ex.usage)
        except Exception as ex:  # a plugin's bug must not end the whole eval
            return empty(_describe(ex), started)
        return from_trace(trace, started)

    async def _baseline(self, item: Item, entrant: Entrant, samples: int) -> dict[str, Any]:
        """The same-budget baseline: its model asked `samples` times, the answers
        grouped and the largest group's answer taken. The one place that groups them."""
        assert entrant.baseline is not None
        sampled = [replace(entrant.baseline, instance=number) for number in range(1, samples + 1)]
        who = _who(f"baseline {entrant.baseline.model_id} (the budget of {entrant.name})", item)
        record = await self._alone(self._request(item, entrant.system_prompt), sampled, entrant.settings, who)
        return {**record, "samples": samples}

    async def _alone(self, request: Call, participants: list[Any], settings: Any, who: str) -> dict[str, Any]:
        """One call per participant, answers grouped by the vote rules."""
        started = time.monotonic()
        RUNNING.set(who)
        try:
            result = await engine.run(request, participants, None, one_shot(settings))
        except ConsortiumFailed as ex:
            return empty(str(ex), started, ex.usage)
        except Exception as ex:
            return empty(_describe(ex), started)
        record = from_trace({**result.trace(), "text": result.text}, started)
        for key in ("final_round", "rounds", "member_calls", "arbiter_fallbacks"):
            record.pop(key)
        if len(participants) == 1:
            record.pop("confidence")
        return record

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


def item_key(item: Item, occurrence: int = 0) -> str:
    """What a stored result is for: the item's content (what the systems are asked),
    not its place in a file. A prompt the dataset repeats is asked again each time
    (`occurrence` counts the repeats): each copy keeps its own stored answer, so a
    resumed report sees what the live one saw."""
    content = ["item", item.prompt, item.system]
    return digest(content if occurrence == 0 else [*content, occurrence])


def item_keys(items: list[Item]) -> list[str]:
    """Each item's key, in order, repeats numbered by how often the prompt came before."""
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        base = item_key(item)
        keys.append(item_key(item, seen.get(base, 0)))
        seen[base] = seen.get(base, 0) + 1
    return keys


def _who(system: str, item: Item) -> str:
    """A run as its warnings name it: `consortium smol, item on line 3`."""
    return f"{system}, item on line {item.line}"


def _describe(ex: Exception) -> str:
    return f"{type(ex).__name__}: {ex}"

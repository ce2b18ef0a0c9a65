"""Scoring answers: the deterministic scorers directly, the judge through a model.

The judge is called like any participant (through the engine, so it shares the
scheduling and retry policy of every other call) and its verdicts are cached: an
answer judged once is not judged again in the same eval, nor, with `--resume`, in a
later one. Its calls and tokens are counted apart from the systems it grades.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .. import engine
from ..errors import ConsortiumFailed
from ..trace import read_trace
from ..types import Call
from .result_store import ResultStore, digest
from .scorers import deterministic, judge_prompt, parse_judgement
from .trace_results import unknown_usage

RUBRIC_VERSION = 1  # part of every cached verdict's key: a new rubric judges afresh


def _plus(total: int | None, more: int | None) -> int | None:
    """A sum that stays unknown (None) once any part of it is."""
    return None if total is None or more is None else total + more


@dataclass
class JudgeUsage:
    """The judge's calls and tokens over the eval; tokens None once a judgement's
    usage was not reported (unknown stays unknown, never 0)."""

    model: str
    calls: int = 0
    input_tokens: int | None = 0
    output_tokens: int | None = 0
    errors: int = 0
    usage: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        self.calls += record["calls"]
        self.input_tokens = _plus(self.input_tokens, record["input_tokens"])
        self.output_tokens = _plus(self.output_tokens, record["output_tokens"])
        self.errors += 0 if record["verdict"] is not None else 1
        for model_id, row in record["usage"].items():
            mine = self.usage.setdefault(model_id, {"calls": 0, "input": 0, "output": 0})
            for key in mine:
                mine[key] = _plus(mine[key], row.get(key, 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "calls": self.calls, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "errors": self.errors, "usage": self.usage,
        }


def _spent(usage: Mapping[str, Any], unknown: set[str] | None = None) -> dict[str, Any]:
    """The judge's calls and tokens from a run's usage (`Result.usage`), succeeded or
    failed; `unknown` are the models that answered without reporting their tokens."""
    unknown = unknown or set()
    per_model = {
        model: {**row, **({"input": None, "output": None} if model in unknown else {})}
        for model, row in (usage.get("per_model") or {}).items()
    }
    return {
        "calls": sum(row.get("calls") or 0 for row in per_model.values()),
        "input_tokens": None if unknown else usage.get("input") or 0,
        "output_tokens": None if unknown else usage.get("output") or 0,
        "usage": per_model,
    }


class Scoring:
    """`await scoring.score(question, expected, answer)` -> (correct, error or None)."""

    def __init__(
        self,
        scorer: str,
        *,
        tolerance: float = 0.0,
        judge: Any = None,  # a Participant, for the judge scorer
        settings: Any = None,  # the engine Settings for the judge's call
        store: ResultStore | None = None,
        reuse: bool = False,
    ) -> None:
        self.scorer = scorer
        self.check = None if scorer == "judge" else deterministic(scorer, tolerance)
        self.judge = judge
        self.settings = settings
        self.store = store
        self.reuse = reuse
        self.usage = JudgeUsage(judge.model_id) if judge is not None else None
        self._pending: dict[str, asyncio.Future] = {}

    async def score(self, question: str, expected: str, answer: str) -> tuple[bool, str | None]:
        if self.check is not None:
            return self.check(answer, expected), None
        key = digest(["judge", RUBRIC_VERSION, self.judge.model_id, question, expected, answer])
        if key not in self._pending:
            self._pending[key] = asyncio.ensure_future(self._judgement(key, question, expected, answer))
        record = await asyncio.shield(self._pending[key])
        if record["verdict"] is None:
            return False, f"judge: {record['error']}"
        return record["verdict"], None

    async def _judgement(self, key: str, question: str, expected: str, answer: str) -> dict[str, Any]:
        record = self.store.judgement(key) if (self.store is not None and self.reuse) else None
        if record is None:
            record = await self._ask(question, expected, answer)
            if self.store is not None and record["verdict"] is not None:
                self.store.put_judgement(key, record)  # a failed judgement is asked again next time
        assert self.usage is not None
        self.usage.add(record)
        return record

    async def _ask(self, question: str, expected: str, answer: str) -> dict[str, Any]:
        # Its own run and ledger: counted, priced and shown apart from the systems it
        # grades, under none of a consortium's budgets or matchers.
        one_shot = replace(self.settings, strategy="vote", max_iterations=1, min_iterations=1, min_members=1,
                           budget_tokens=None, budget_usd=None, matcher=None)
        request = Call(judge_prompt(question, expected, answer))
        record: dict[str, Any] = {"verdict": None, "error": None, "reply": None}
        try:
            result = await engine.run(request, [self.judge], None, one_shot)
        except ConsortiumFailed as ex:
            # a failed judgement still spent its calls: the engine says what they were
            record.update(error=f"the judge failed: {ex}", **_spent(ex.usage or {}))
            return record
        spent = _spent(result.usage, unknown_usage(dict(read_trace(result.trace()))))
        record.update(reply=result.text, verdict=parse_judgement(result.text), **spent)
        if record["verdict"] is None:
            record["error"] = "the judge's reply held no clear verdict"
        return record

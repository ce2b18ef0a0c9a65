"""What `llm consortiums compare NAME PROMPT` computes: is the consortium worth its price?

It runs the consortium, each member alone, and a same-budget baseline — one model
sampled as many times as the consortium made member calls, its answers grouped by
the vote rules (self-consistency) — and shows the answers with what each cost in
tokens. The baseline is what the consortium has to beat: the same number of calls
spent on a single model, with no arbiter and no refinement rounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import engine
from ..errors import ConsortiumFailed
from ..saved.config import ConsortiumConfig
from ..text.words import dollars
from ..types import Call, Participant, Result, Settings


@dataclass
class Column:
    """One way of answering the prompt, its answer and what it cost."""

    kind: str  # "consortium", "member" or "baseline"
    name: str
    answer: str | None = None
    error: str | None = None
    calls: int = 0
    input_tokens: int | None = 0  # None: a model did not say
    output_tokens: int | None = 0
    # the consortium's confidence; the winning share of the baseline's vote
    confidence: float | None = None
    samples: int | None = None
    cost_usd: float | None = None  # when every model it called has a price


def _member_calls(result: Result) -> int:
    """Member calls the consortium made: one per member per round."""
    return sum(len(record["members"]) for record in result.rounds)


async def _column(column: Column, running: Awaitable[Result]) -> tuple[Column, Result | None]:
    try:
        result = await running
    except ConsortiumFailed as ex:
        column.error = str(ex)
        _spent(column, ex.usage)  # a failed member made calls too
        return column, None
    column.answer = result.text
    _spent(column, result.usage)
    return column, result


def _spent(column: Column, usage: Mapping[str, Any] | None) -> None:
    """Fill in what a run cost: every HTTP request it sent (retries included) and
    its tokens."""
    if not usage:
        return
    column.calls = sum(row.get("requests", row["calls"]) for row in usage.get("per_model", {}).values())
    column.input_tokens = usage.get("input", 0)
    column.output_tokens = usage.get("output", 0)
    column.cost_usd = usage.get("cost_usd")


async def compare_runs(
    request: Call,
    members: list[Participant],
    arbiter: Participant | None,
    settings: Settings,
    baseline: Participant,
    *,
    name: str = "consortium",
) -> list[Column]:
    """The consortium and each member alone (concurrently), then the baseline.

    A member listed with a count runs alone once. The baseline makes as many calls
    as the consortium's members did (one round's worth if the consortium failed).
    """
    one_shot = replace(settings, strategy="vote", max_iterations=1, min_iterations=1, min_members=1)
    solo = [member for member in members if member.instance == 1]
    async with asyncio.TaskGroup() as group:  # Ctrl-C cancels every run together
        runs = [group.create_task(_column(Column("consortium", name), engine.run(request, members, arbiter, settings)))]
        runs += [
            group.create_task(_column(Column("member", member.model_id), engine.run(request, [member], None, one_shot)))
            for member in solo
        ]
    done = [run.result() for run in runs]
    consortium, result = done[0]
    if result is not None:
        consortium.confidence = result.confidence
    samples = _member_calls(result) if result is not None else len(members)
    sampled = [replace(baseline, instance=number) for number in range(1, samples + 1)]
    column, voted = await _column(
        Column("baseline", baseline.model_id, samples=samples),
        engine.run(request, sampled, None, one_shot),
    )
    if voted is not None:
        column.confidence = voted.confidence
    return [consortium, *(column for column, _ in done[1:]), column]


def default_baseline(config: ConsortiumConfig) -> str:
    return config.arbiter.model_id if config.arbiter else config.models[0].model_id


def render(columns: list[Column]) -> str:
    blocks = []
    for column in columns:
        title = {"consortium": "Consortium", "member": "Member alone:", "baseline": "Baseline:"}[column.kind]
        title = f"{title} {column.name}"
        if column.kind == "baseline":
            title += f" x{column.samples}, self-consistency vote"
        if column.confidence is not None:
            word = "winning share" if column.kind == "baseline" else "confidence"
            title += f" ({word} {column.confidence:.2f})"
        body = (column.answer or "") if column.error is None else f"Failed: {column.error}"
        blocks.append(f"== {title}\n{body.strip()}")
    width = max(len(f"{c.kind} {c.name}") for c in columns)
    priced = any(c.cost_usd is not None for c in columns)
    rows = [f"{'':<{width}}  {'calls':>5}  {'input':>8}  {'output':>8}  {'total':>8}" + ("  cost $" if priced else "")]
    for c in columns:
        label = f"{c.kind} {c.name}"
        total = None if c.input_tokens is None or c.output_tokens is None else c.input_tokens + c.output_tokens
        cost = f"  {dollars(c.cost_usd).removeprefix('$')}" if priced else ""
        tokens = "  ".join(f"{'?' if n is None else n:>8}" for n in (c.input_tokens, c.output_tokens, total))
        rows.append(f"{label:<{width}}  {c.calls:>5}  {tokens}{cost}")
    return "\n\n".join(blocks) + "\n\n" + "\n".join(rows)

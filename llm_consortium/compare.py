"""`llm consortiums compare NAME PROMPT`: is the consortium worth its price?

It runs the consortium, each member alone, and a same-budget baseline — one model
sampled as many times as the consortium made member calls, its answers grouped by
the vote rules (self-consistency) — and shows the answers with what each cost in
tokens. The baseline is what the consortium has to beat: the same number of calls
spent on a single model, with no arbiter and no refinement rounds.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Awaitable, Optional

import click
import llm

from . import engine, store
from .cli import fail
from .config import ConsortiumConfig


@dataclass
class Column:
    """One way of answering the prompt, its answer and what it cost."""

    kind: str  # "consortium", "member" or "baseline"
    name: str
    answer: Optional[str] = None
    error: Optional[str] = None
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # the consortium's confidence; the winning share of the baseline's vote
    confidence: Optional[float] = None
    samples: Optional[int] = None


def _member_calls(result: engine.Result) -> int:
    """Member calls the consortium made: one per member per round."""
    return sum(len(record["members"]) for record in result.rounds)


async def _column(column: Column, running: Awaitable[engine.Result]) -> tuple[Column, Optional[engine.Result]]:
    try:
        result = await running
    except engine.ConsortiumFailed as ex:
        column.error = str(ex)
        return column, None
    column.answer = result.text
    column.calls = sum(row["calls"] for row in result.usage["per_model"].values())
    column.input_tokens = result.usage["input"]
    column.output_tokens = result.usage["output"]
    return column, result


async def compare_runs(
    request: engine.Request,
    members: list[engine.Participant],
    arbiter: Optional[engine.Participant],
    settings: engine.Settings,
    baseline: engine.Participant,
    *,
    name: str = "consortium",
) -> list[Column]:
    """The consortium and each member alone (concurrently), then the baseline.

    A member listed with a count runs alone once. The baseline makes as many calls
    as the consortium's members did (one round's worth if the consortium failed).
    """
    one_shot = replace(settings, strategy="vote", max_iterations=1, min_iterations=1, min_members=1)
    solo = [member for member in members if member.instance == 1]
    runs = [_column(Column("consortium", name), engine.run(request, members, arbiter, settings))]
    runs += [
        _column(Column("member", member.model_id), engine.run(request, [member], None, one_shot))
        for member in solo
    ]
    done = await asyncio.gather(*runs)
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


def _participant(model_id: str) -> engine.Participant:
    """The baseline model as a participant, with its own default options."""
    from .members import Registry

    registry = Registry()
    try:
        participant = registry.participant(model_id, {})
    except KeyError:
        raise click.ClickException(f"Unknown baseline model {model_id!r}")
    except llm.ModelError as ex:
        raise click.ClickException(f"Baseline model {model_id!r}: {ex}")
    return replace(participant, model_id=registry.model(model_id).model_id)


def _default_baseline(config: ConsortiumConfig) -> str:
    return config.arbiter.model_id if config.arbiter else config.models[0].model_id


def _render(columns: list[Column]) -> str:
    blocks = []
    for column in columns:
        title = {"consortium": "Consortium", "member": "Member alone:", "baseline": "Baseline:"}[column.kind]
        title = f"{title} {column.name}"
        if column.kind == "baseline":
            title += f" x{column.samples}, self-consistency vote"
        if column.confidence is not None:
            word = "winning share" if column.kind == "baseline" else "confidence"
            title += f" ({word} {column.confidence:.2f})"
        body = column.answer if column.error is None else f"Failed: {column.error}"
        blocks.append(f"== {title}\n{body.strip()}")
    width = max(len(f"{c.kind} {c.name}") for c in columns)
    rows = [f"{'':<{width}}  {'calls':>5}  {'input':>8}  {'output':>8}  {'total':>8}"]
    for c in columns:
        label = f"{c.kind} {c.name}"
        total = c.input_tokens + c.output_tokens
        rows.append(f"{label:<{width}}  {c.calls:>5}  {c.input_tokens:>8}  {c.output_tokens:>8}  {total:>8}")
    return "\n\n".join(blocks) + "\n\n" + "\n".join(rows)


@click.command()
@click.argument("name")
@click.argument("prompt")
@click.option("--baseline", help="Model for the same-budget vote (default: the arbiter, else the first member)")
@click.option("json_", "--json", is_flag=True, help="Output the comparison as JSON")
def compare(name: str, prompt: str, baseline: Optional[str], json_: bool) -> None:
    """
    Run a consortium, each member alone, and a same-budget vote of one model

    The baseline asks one model as many times as the consortium made member
    calls and votes on its answers. Every answer is printed with its token cost.

    \b
        llm consortiums compare my-consortium "What causes the seasons?"
        llm consortiums compare my-consortium "2+2?" --baseline gpt-4o-mini --json
    """
    from .members import resolve
    from .models import ConsortiumOptions, run_sync, settings_for

    try:
        config = store.load(name)
        members, arbiter = resolve(config)
    except (store.ConsortiumError, ValueError, llm.ModelError) as ex:
        raise fail(ex)
    baseline_model = _participant(baseline or _default_baseline(config))
    settings = settings_for(config, ConsortiumOptions())
    request = engine.Request(prompt, config.system_prompt)
    columns = run_sync(
        lambda: compare_runs(request, members, arbiter, settings, baseline_model, name=name)
    )
    if json_:
        payload: dict[str, Any] = {
            "consortium": name,
            "prompt": prompt,
            "columns": [asdict(column) for column in columns],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(_render(columns))

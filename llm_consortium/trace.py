"""The trace: how a run reached its answer, stored with the consortium's turn in llm's
logs (`response_json`) and read back by `trace`, `runs`, the HTML page and `eval`.

It is a contract between the engine that writes it and every reader, including readers
of traces written by older versions, so its shape is declared once here. The records
are TypedDicts rather than classes: the stored form is plain JSON, and a reader gets
the same dict whether the trace was made a moment ago or read from a database.
`read_trace` is the one way in for readers: it accepts anything and returns a trace
whose lists and dicts have the types declared here, so no reader needs its own defence.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

# 1: no version field (before the trace was declared); 2: this declaration.
TRACE_VERSION = 2


class Usage(TypedDict, total=False):
    input: int | None
    output: int | None


class ModelUsage(TypedDict):
    """One model's sums over a run: calls (attempts), HTTP requests, tokens."""

    calls: int
    requests: int
    input: int
    output: int


class RunUsage(TypedDict, total=False):
    input: int
    output: int
    per_model: dict[str, ModelUsage]
    cost_usd: float  # when every model's price is known
    calls_saved: dict[str, int]  # calls not made, by saving: agreement, tiers, waves


class ToolCallRecord(TypedDict, total=False):
    """One tool call a member's model made: the tool, its arguments, an excerpt of
    its result or its error, how long it took, whether another member's identical
    call supplied the result, and who asked (a nested consortium's member too)."""

    name: str
    arguments: dict[str, Any]
    output: str
    error: str | None
    duration_ms: int
    shared: bool
    member: str


class CallRecord(TypedDict, total=False):
    """One participant's call: who, how it ended, what it cost and what it waited for."""

    model: str
    instance: int
    label: str
    text: str
    error: str | None
    duration_ms: int
    usage: Usage
    requests: int
    attempts: list[dict[str, Any]]
    rate_limit_waits: int
    rate_limit_wait_ms: int
    queued_ms: int
    abandoned: int
    concurrency_limit: int
    tool_calls: list[ToolCallRecord]


class ArbiterRecord(CallRecord, total=False):
    """The arbiter's call and, when it gave one, its parsed verdict."""

    raw: str
    confidence: float | None
    needs_iteration: bool
    synthesis: str
    refinement_areas: list[str]
    dissent: str
    analysis: str
    tagged: bool


class TierRecord(TypedDict, total=False):
    """One tier asked in a round, and why the next one was asked after it."""

    tier: int
    members: list[str]
    escalated: str
    arbiter: ArbiterRecord  # its verdict on the answers so far, when it escalated


class RoundRecord(TypedDict, total=False):
    """One round: the members' calls, then how the round was decided (`arbiter` or
    `vote`), its confidence, and `fallback` / `failed` when it went wrong."""

    round: int
    members: list[CallRecord]
    labels: dict[str, str]
    arbiter: ArbiterRecord
    vote: dict[str, Any]
    confidence: float | None
    answer_changed: bool
    duration_ms: int
    failed: str
    fallback: dict[str, Any]
    tiers: list[TierRecord]
    waves: dict[str, int]
    arbiter_skipped: str  # why no arbiter was needed (every answer agreed)


class Trace(TypedDict, total=False):
    version: int
    rounds: list[RoundRecord]
    final_round: int
    confidence: float | None
    confidence_threshold: float | None
    usage: RunUsage
    notes: list[str]
    stopped: str  # why the run stopped early (a budget)


def _dicts(value: Any) -> list[Any]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def read_trace(data: Any) -> Trace:
    """Any stored trace (or anything at all) as a Trace: rounds and member records that
    are not objects are dropped, missing lists are empty, and a trace without a version
    is version 1. Unknown keys are kept: a newer writer's extra fields reach the reader."""
    if not isinstance(data, dict):
        return Trace(version=TRACE_VERSION, rounds=[], notes=[])
    trace: dict[str, Any] = dict(data)
    trace["version"] = data["version"] if isinstance(data.get("version"), int) else 1
    rounds = []
    for record in _dicts(data.get("rounds")):
        record = dict(record)
        record["members"] = _dicts(record.get("members"))
        if "arbiter" in record and not isinstance(record["arbiter"], dict):
            del record["arbiter"]
        rounds.append(record)
    trace["rounds"] = rounds
    notes = data.get("notes")
    trace["notes"] = [str(note) for note in notes] if isinstance(notes, list) else []
    if not isinstance(trace.get("usage"), dict):
        trace["usage"] = {}
    return cast(Trace, trace)

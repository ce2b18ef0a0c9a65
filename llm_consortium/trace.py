"""The trace: how a run reached its answer, stored with the consortium's turn in llm's
logs (`response_json`) and read back by `trace`, `runs`, the HTML page and `eval`.

It is a contract between the engine that writes it and every reader, including readers
of traces written by older versions, so its shape is declared once here. The records
are TypedDicts rather than classes: the stored form is plain JSON, and a reader gets
the same dict whether the trace was made a moment ago or read from a database.
`read_trace` is the one way in for readers: it accepts anything and returns a trace
whose values have the types declared here (checked against these declarations, so
the check cannot drift from them), so no reader needs its own defence.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, TypedDict, cast

# 1: no version field (before the trace was declared); 2: this declaration.
TRACE_VERSION = 2


class Usage(TypedDict, total=False):
    input: int | None
    output: int | None


class ModelUsage(TypedDict):
    """One model's sums over a run: calls (attempts), HTTP requests, tokens (None when
    a call of it answered without saying how many it used)."""

    calls: int
    requests: int
    input: int | None
    output: int | None


class RunUsage(TypedDict, total=False):
    """A run's token sums: None (never 0) when any call answered without saying."""

    input: int | None
    output: int | None
    per_model: dict[str, ModelUsage]
    cost_usd: float  # when every model's price is known
    calls_saved: dict[str, int]  # calls not made, by saving: agreement, tiers, waves
    # Under a budget, by model: the tokens its calls that reported none were counted
    # at ({"input": n, "output": n}); the usage itself stays unknown (None).
    estimated: dict[str, dict[str, int]]


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
    """One participant's call: who, how it ended, what it cost and what it waited for.

    `attempts` (only when there was more than one request) holds one object per
    attempt: `ok`, `duration_ms`, and on failure `error`, `rate_limited`,
    `retry_in`, `provider_retries`, `abandoned`. `rejected` is a member's answer
    that failed the run's schema, as it was written (its `error` says why)."""

    model: str
    instance: int
    label: str
    text: str
    error: str | None
    rejected: str
    duration_ms: int
    usage: Usage
    requests: int
    attempts: list[dict[str, Any]]
    rate_limit_waits: int
    rate_limit_wait_ms: int
    queued_ms: int
    abandoned: int
    concurrency_limit: int
    limit_group: str  # the provider limit its calls counted in, when not the model's own
    tool_calls: list[ToolCallRecord]


def member_name(model: str, instance: int | None = 1) -> str:
    """The one name of a member instance, in the trace and everywhere it is shown:
    `model` for the first instance, `model#2` and so on for the others."""
    return model if (instance or 1) == 1 else f"{model}#{instance}"


def name_of(call: CallRecord | dict[str, Any]) -> str:
    """The member name of a recorded call (its `model` and `instance`)."""
    return member_name(str(call.get("model", "?")), call.get("instance"))


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
    # When the arbiter's context window is known: how its prompt was made to fit
    # (`window`, its `source`, `form` full/compact/stepwise, `prompt_tokens` the room
    # it left, estimated, `answer_chars` each cut answer kept, stepwise `group`, `why`).
    fit: dict[str, Any]
    # Judging in steps: each step's `step`, `judged` (labels or "step N"), `form`,
    # call fields and, but for the last, its `synthesis`.
    steps: list[dict[str, Any]]
    # The first call overflowed and was asked again: its `error`, `duration_ms`,
    # `usage`, `prompt_chars` and the `window` it taught.
    overflow: dict[str, Any]


class ConclusionRecord(TypedDict, total=False):
    """What one member's answer was reduced to (`conclusion`) and by which rule
    (`stated answer`, `bare number`, `yes/no`, `choice`, `same text`, or the mode)."""

    member: str
    conclusion: str
    rule: str


class VoteGroupRecord(TypedDict, total=False):
    """Answers the vote counted as one: the group's shown answer, what made them one
    (`extracted`, by the run's matcher), the members' names and their share, and
    each member's conclusion with its rule (`conclusions`, in member order)."""

    answer: str | None
    extracted: str
    members: list[str]
    share: float
    conclusions: list[ConclusionRecord]


class FieldVoteRecord(TypedDict, total=False):
    """One top-level field of a JSON vote taken field by field: the value most members
    gave (`absent` when most left the field out), who gave it, and their share."""

    value: Any
    absent: bool
    members: list[str]
    share: float


class VoteRecord(TypedDict, total=False):
    """The members' vote: the groups, largest first, the winner's name and share, and
    for JSON answers where no two agreed, the vote field by field (`by_field`) or why
    the merged object could not be used (`by_field_rejected`)."""

    matching: str
    groups: list[VoteGroupRecord]
    winner: str | None
    share: float
    by_field: dict[str, FieldVoteRecord]
    by_field_rejected: str


class FallbackRecord(TypedDict, total=False):
    """What the round kept when its arbiter failed: an earlier `round`'s answer, the
    peer `review`'s top-ranked answer (its member, the ranking's confidence as `share`),
    or the members' `vote` (who agreed, of how many answers, their share)."""

    kept: str
    round: int
    members: list[str]
    answered: int
    share: float


class ReviewerRecord(CallRecord, total=False):
    """One reviewer's call: the members whose answers it was shown (never its own),
    its ranking of them best first and one reason for each. A reviewer whose reply
    held no usable ranking has `error` (and its reply as `raw`) instead."""

    shown: list[str]
    ranking: list[str]
    reasons: dict[str, str]
    raw: str


class SkippedReviewer(TypedDict, total=False):
    """A member that did not review, and why."""

    member: str
    why: str


class StandingRecord(TypedDict, total=False):
    """A member's place in the aggregate ranking: its mean Borda score (1 = first on
    every ballot), mean place (1 = best), first places, ballots that ranked it, and
    whether every one of them (at least two) put it last; score and mean place are
    None when no ballot ranked it. Backers: members that gave its answer or put it first."""

    member: str
    score: float | None
    mean_rank: float | None
    firsts: int
    ballots: int
    backers: int
    ranked_last_by_all: bool


class ReviewRecord(TypedDict, total=False):
    """The round's peer review: every reviewer's call and ballot, who did not review,
    the aggregate ranking (best first) and the reviewers' agreement (Kendall's W, None
    when unknown). `winner` is set when the ranking chose the answer (no arbiter);
    `why` when no ballot could be counted."""

    reviewers: list[ReviewerRecord]
    skipped: list[SkippedReviewer]
    ranking: list[StandingRecord]
    agreement: float | None
    winner: str
    why: str


class TierRecord(TypedDict, total=False):
    """One tier asked in a round, and why the next one was asked after it."""

    tier: int
    members: list[str]
    escalated: str
    arbiter: ArbiterRecord  # its verdict on the answers so far, when it escalated


class RoundRecord(TypedDict, total=False):
    """One round: the members' calls, their peer `review` when the consortium asks for
    one, then how the round was decided (`arbiter` or `vote`), its confidence, and
    `fallback` / `failed` when it went wrong."""

    round: int
    members: list[CallRecord]
    labels: dict[str, str]
    review: ReviewRecord
    arbiter: ArbiterRecord
    vote: VoteRecord
    confidence: float | None
    answer_changed: bool
    duration_ms: int
    failed: str
    fallback: FallbackRecord
    tiers: list[TierRecord]
    waves: dict[str, int]
    arbiter_skipped: str  # why no arbiter was needed (every answer agreed)
    matching: list[CallRecord]  # the matcher's model calls (`judge`, `semantic`)
    panel: int  # the members the tiers asked configure: the denominator of the members' agreement


class FailedMemberRecord(TypedDict):
    """A member call that failed: who, in which round, and why."""

    member: str
    round: int
    error: str


class Trace(TypedDict, total=False):
    """A run: its rounds, the round whose answer is final, the final confidence and
    the threshold it had to reach, the usage, the notes and the run's status. `consortium` (the saved
    consortium's name) is added where the trace is stored on a logged turn."""

    version: int
    consortium: str
    rounds: list[RoundRecord]
    final_round: int
    confidence: float | None
    confidence_threshold: float | None
    usage: RunUsage
    notes: list[str]
    stopped: str  # why the run stopped early (a budget)
    # What the answer rests on (engine/status.py): complete, partial, stopped or
    # fallback; one line per fact that makes it less than complete; the failed calls.
    status: str
    degraded: list[str]
    failed_members: list[FailedMemberRecord]


# ------------------------------------------------------------------- reading

_DROP = object()  # a value that does not have its declared type


@functools.cache
def _fields(record: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's declared fields (inherited ones too) and its required keys."""
    return typing.get_type_hints(record), cast(frozenset[str], record.__required_keys__)  # type: ignore[attr-defined]


def _conform(value: Any, hint: Any) -> Any:
    """`value` as `hint` declares it, or _DROP: lists and dicts keep only the items that
    conform, a record drops its fields that do not (or itself, when it loses a required
    one), and a record's undeclared keys are kept as they are."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(hint):
            conformed = _conform(value, option)
            if conformed is not _DROP:
                return conformed
        return _DROP
    if typing.is_typeddict(hint):
        return _record(value, hint)
    if origin is list:
        if not isinstance(value, list):
            return _DROP
        (item,) = typing.get_args(hint)
        return [c for c in (_conform(v, item) for v in value) if c is not _DROP]
    if origin is dict:
        if not isinstance(value, dict):
            return _DROP
        _, item = typing.get_args(hint)
        conformed = {str(k): _conform(v, item) for k, v in value.items()}
        return {k: v for k, v in conformed.items() if v is not _DROP}
    return value if _is_a(value, hint) else _DROP


def _is_a(value: Any, kind: Any) -> bool:
    if kind is type(None):
        return value is None
    if kind in (int, float) and isinstance(value, bool):  # JSON's true is not a number
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _record(value: Any, record: type) -> Any:
    if not isinstance(value, dict):
        return _DROP
    hints, required = _fields(record)
    out = {}
    for key, item in value.items():
        conformed = _conform(item, hints[key]) if key in hints else item
        if conformed is not _DROP:
            out[key] = conformed
    return out if required <= out.keys() else _DROP


def read_trace(data: Any) -> Trace:
    """Any stored trace (or anything at all) as a Trace whose values have the declared
    types: a value of the wrong type is dropped (a list or dict keeps its items that
    conform), rounds, each round's members and notes are always lists, usage is a
    dict, and a trace without a version is version 1. Unknown keys are kept: a newer
    writer's extra fields reach the reader. A well-formed trace reads back unchanged."""
    if not isinstance(data, dict):
        return Trace(version=TRACE_VERSION, rounds=[], notes=[], usage={})
    notes = data.get("notes")
    trace = dict(_record(data, Trace))
    trace["version"] = trace.get("version", 1)
    trace["rounds"] = [cast(RoundRecord, {**r, "members": r.get("members", [])}) for r in trace.get("rounds", [])]
    trace["notes"] = [str(note) for note in notes] if isinstance(notes, list) else []
    trace.setdefault("usage", {})
    return cast(Trace, trace)

"""What the engine writes into the trace for a call, and the usage it sums over a run.

One place builds a call's record, so members and the arbiter are recorded alike and
the trace keeps the shape `trace.py` declares.
"""

from __future__ import annotations

from dataclasses import asdict

from ..trace import CallRecord, ModelUsage, RunUsage, ToolCallRecord
from ..types import Outcome, Participant

# What scheduling cost a call: recorded only when it cost something.
_SCHEDULING = ("rate_limit_waits", "rate_limit_wait_ms", "queued_ms", "abandoned")


def call_record(participant: Participant, outcome: Outcome) -> CallRecord:
    """The trace record of one participant's call, however it ended."""
    record = CallRecord(model=participant.model_id, instance=participant.instance)
    if outcome.reply is not None:
        record["text"] = outcome.reply.text
        if outcome.reply.tool_calls:
            record["tool_calls"] = [ToolCallRecord(**asdict(use)) for use in outcome.reply.tool_calls]  # type: ignore[typeddict-item]
    else:
        record["error"] = outcome.error
    record["duration_ms"] = outcome.duration_ms
    record["usage"] = outcome.usage()  # type: ignore[typeddict-item]  # same keys, None when unknown
    record["requests"] = outcome.requests
    if len(outcome.attempts) > 1 or outcome.requests > 1:
        record["attempts"] = outcome.attempts
    for key in _SCHEDULING:
        if getattr(outcome, key):
            record[key] = getattr(outcome, key)  # type: ignore[literal-required]
    if outcome.concurrency_limit is not None:
        record["concurrency_limit"] = outcome.concurrency_limit
    if participant.limit_group is not None:
        record["limit_group"] = participant.limit_group
    return record


def _plus(total: int | None, more: int | None, known: bool) -> int | None:
    return None if total is None or not known else total + (more or 0)


class UsageSum:
    """Token sums over every call of a run, in total and per model.

    Unknown stays unknown: once a call answers without saying what it used, its
    model's sums and the run's are None, never a 0 or a count that looks complete.
    (A failed call's usage is unknown too, but nothing answered to say otherwise.)
    A budget never reads a None as nothing spent: the run counts such calls at their
    estimate beside these sums (`RunContext`, `calls.costs.Estimated`).
    """

    def __init__(self) -> None:
        self.input: int | None = 0
        self.output: int | None = 0
        self.per_model: dict[str, ModelUsage] = {}

    def add(self, model_id: str, outcome: Outcome) -> None:
        row = self.per_model.setdefault(model_id, ModelUsage(calls=0, requests=0, input=0, output=0))
        row["calls"] += max(1, len(outcome.attempts))  # a call that never got to try is a call that failed
        row["requests"] += outcome.requests
        usage = outcome.usage()
        answered = outcome.reply is not None
        row["input"] = _plus(row["input"], usage["input"], not answered or usage["input"] is not None)
        row["output"] = _plus(row["output"], usage["output"], not answered or usage["output"] is not None)
        self.input = _plus(self.input, usage["input"], not answered or usage["input"] is not None)
        self.output = _plus(self.output, usage["output"], not answered or usage["output"] is not None)

    @property
    def known(self) -> bool:
        """Whether every call that answered said what it used."""
        return self.input is not None and self.output is not None

    def as_dict(self) -> RunUsage:
        return RunUsage(input=self.input, output=self.output, per_model=self.per_model)

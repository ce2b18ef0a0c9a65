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
    return record


class UsageSum:
    """Token sums over every call of a run, in total and per model."""

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.per_model: dict[str, ModelUsage] = {}

    def add(self, model_id: str, outcome: Outcome) -> None:
        row = self.per_model.setdefault(model_id, ModelUsage(calls=0, requests=0, input=0, output=0))
        row["calls"] += len(outcome.attempts)
        row["requests"] += outcome.requests
        usage = outcome.usage()
        row["input"] += usage["input"] or 0
        row["output"] += usage["output"] or 0
        self.input += usage["input"] or 0
        self.output += usage["output"] or 0

    def as_dict(self) -> RunUsage:
        return RunUsage(input=self.input, output=self.output, per_model=self.per_model)

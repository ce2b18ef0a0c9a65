"""Reading a logged trace for display: the pieces both renderers (text and HTML)
show the same way, so a round, a member or a confidence reads alike in both.

Everything is read defensively with `.get`, because a trace logged by an older or
newer version may lack a field, and a missing field must never hide the rest.
"""

from __future__ import annotations

from typing import Any


def seconds(ms: Any) -> str:
    """`1234` -> `1.2s`; unknown durations print as `?`."""
    return f"{ms / 1000:.1f}s" if isinstance(ms, (int, float)) else "?"


def confidence_text(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "unknown"


def tokens_text(usage: Any) -> str:
    usage = usage if isinstance(usage, dict) else {}

    def part(key: str) -> str:
        value = usage.get(key)
        return "?" if value is None else str(value)

    return f"{part('input')} in / {part('output')} out"


def member_name(member: dict[str, Any]) -> str:
    """`model`, or `model#2` for the second instance of the same model."""
    model = str(member.get("model", "?"))
    instance = member.get("instance", 1)
    return model if instance in (1, None) else f"{model}#{instance}"


def retries_text(member: dict[str, Any]) -> str:
    """`2 attempts, 1 failed` when the call was retried, else empty."""
    attempts = member.get("attempts") or []
    if len(attempts) < 2:
        return ""
    failed = sum(1 for attempt in attempts if not attempt.get("ok"))
    return f"{len(attempts)} attempts, {failed} failed"


def vote_groups(round_: dict[str, Any]) -> list[dict[str, Any]]:
    """The round's vote groups when the run voted, else an empty list."""
    vote = round_.get("vote")
    groups = vote.get("groups") if isinstance(vote, dict) else None
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def round_heading(round_: dict[str, Any], final_round: int | None) -> str:
    number = round_.get("round", "?")
    bits = [f"Round {number}", seconds(round_.get("duration_ms"))]
    if round_.get("answer_changed") is True:
        bits.append("answer changed")
    elif round_.get("answer_changed") is False and number != 1:
        bits.append("answer unchanged")
    if number == final_round:
        bits.append("final answer from this round")
    return " · ".join(bits)

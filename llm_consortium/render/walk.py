"""Reading a logged trace for display: the pieces both renderers (text and HTML)
show the same way, so a round, a member or a confidence reads alike in both.

Everything is read defensively with `.get`, because a trace logged by an older or
newer version may lack a field, and a missing field must never hide the rest.
"""

from __future__ import annotations

import json
from typing import Any

from ..judging import matching
from ..text.words import UNKNOWN, number, plural


def seconds(ms: Any) -> str:
    """`1234` -> `1.2s`; unknown durations print as `?`."""
    return f"{ms / 1000:.1f}s" if isinstance(ms, (int, float)) else "?"


def confidence_text(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "unknown"


def tokens_text(usage: Any) -> str:
    """One call's usage: `1,234 in / 56 out`; a count it did not report is `?`."""
    usage = usage if isinstance(usage, dict) else {}
    return f"{number(usage.get('input'))} in / {number(usage.get('output'))} out"


def partial_count(count: int | None, complete: bool) -> str:
    """A sum over calls: `1,234`; `1,234+?` when some call did not report its part;
    `?` when none did."""
    return number(count) + ("" if complete or count is None else f"+{UNKNOWN}")


def run_tokens_text(run: Any) -> str:
    """A whole run's usage (a runs.Run): `1,234 in / 56 out`, unknown parts as `?`."""
    return f"{partial_count(*run.tokens('input'))} in / {partial_count(*run.tokens('output'))} out"


def member_name(member: dict[str, Any]) -> str:
    """`model`, or `model#2` for the second instance of the same model."""
    model = str(member.get("model", "?"))
    instance = member.get("instance", 1)
    return model if instance in (1, None) else f"{model}#{instance}"


def tool_call_texts(member: dict[str, Any]) -> list[str]:
    """One line per tool call the member's model made: the call, its duration or
    that another member's identical call supplied it, and its result's first line
    or its error."""
    texts = []
    for call in member.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        arguments = json.dumps(call.get("arguments") or {}, ensure_ascii=False, default=repr)
        when = "shared" if call.get("shared") else seconds(call.get("duration_ms"))
        who = f"{call['member']}: " if "> " in str(call.get("member", "")) else ""
        first = (str(call.get("output") or "").splitlines() or [""])[0]
        result = f"error: {call['error']}" if call.get("error") else first
        texts.append(f"{who}{call.get('name', '?')}({arguments}) {when} -> {result[:120]}")
    return texts


def retries_text(member: dict[str, Any]) -> str:
    """What a call cost beyond one request, else empty: `6 requests in 2 attempts,
    2 failed`, `rate-limited 3x, waited 1.2s`, `queued 0.4s`, `1 abandoned`, and
    the model's in-flight limit when a rate limit lowered it."""
    attempts = member.get("attempts") or []
    requests = member.get("requests")
    bits = []
    if len(attempts) > 1 or (isinstance(requests, int) and requests > 1):
        failed = sum(1 for attempt in attempts if not attempt.get("ok"))
        sent = f"{requests} requests in " if isinstance(requests, int) and requests != len(attempts) else ""
        bits.append(f"{sent}{plural(len(attempts), 'attempt')}, {failed} failed")
    if member.get("rate_limit_waits"):
        bits.append(f"rate-limited {member['rate_limit_waits']}x, waited {seconds(member.get('rate_limit_wait_ms'))}")
    if member.get("queued_ms"):
        bits.append(f"queued {seconds(member['queued_ms'])}")
    if member.get("abandoned"):
        bits.append(f"{member['abandoned']} abandoned")
    if member.get("concurrency_limit"):
        bits.append(f"model limit {member['concurrency_limit']} in flight")
    return ", ".join(bits)


def vote_groups(round_: dict[str, Any]) -> list[dict[str, Any]]:
    """The round's vote groups when the run voted, else an empty list."""
    vote = round_.get("vote")
    groups = vote.get("groups") if isinstance(vote, dict) else None
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def round_heading(round_: dict[str, Any], final_round: int | None) -> str:
    number = round_.get("round", "?")
    bits = [f"Round {number}", seconds(round_.get("duration_ms"))]
    confidence = round_confidence(round_)
    if confidence is not None:
        bits.append(f"confidence {confidence:.2f}")
    if round_.get("answer_changed") is True:
        bits.append("answer changed")
    elif round_.get("answer_changed") is False and number != 1:
        bits.append("answer unchanged")
    if number == final_round:
        bits.append("final answer from this round")
    return " · ".join(bits)


def round_confidence(round_: dict[str, Any]) -> float | None:
    """The round's confidence: recorded by the engine (the arbiter's, or the vote's
    share), else read from an older trace's arbiter or vote."""
    for value in (
        round_.get("confidence"),
        (round_.get("arbiter") or {}).get("confidence"),
        (round_.get("vote") or {}).get("share"),
    ):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def share_text(share: Any, agreed: int | None = None, total: int | None = None) -> str:
    """`0.67 (2/3)`; just `0.67` when the counts are unknown."""
    if not isinstance(share, (int, float)):
        return "?"
    counts = f" ({agreed}/{total})" if agreed is not None and total else ""
    return f"{share:.2f}{counts}"


def group_share(round_: dict[str, Any], group: dict[str, Any]) -> str:
    """A vote group's share with its count of the round's answers: `0.67 (2/3)`."""
    total = sum(len(g.get("members") or []) for g in vote_groups(round_))
    return share_text(group.get("share"), len(group.get("members") or []), total)


def group_extracted(group: dict[str, Any]) -> str:
    """What made a vote group one group, as ` = 12` (the extracted answer, one line,
    at most 60 characters); "" when it is just the shown answer normalised (nothing
    to add) or for traces written before matching was recorded."""
    extracted = group.get("extracted")
    if not isinstance(extracted, str) or not extracted.strip():
        return ""
    if extracted == matching.normalise(str(group.get("answer", ""))):
        return ""
    flat = " ".join(extracted.split())
    return " = " + (flat if len(flat) <= 60 else flat[:59] + "…")


def fallback_text(round_: dict[str, Any]) -> str:
    """What happened when the round's arbiter failed, in one sentence."""
    fallback = round_.get("fallback")
    if isinstance(fallback, dict) and fallback.get("kept") == "vote":
        if isinstance(round_.get("vote"), dict) and round_["vote"].get("by_field"):  # JSON, no two agreed
            return "The arbiter failed: the answer is the members' vote, taken field by field"
        agreed = [str(m) for m in fallback.get("members") or []]
        share = share_text(fallback.get("share"), len(agreed), fallback.get("answered"))
        return f"The arbiter failed: the answer is the members' vote, {share}: {', '.join(agreed)}"
    if isinstance(fallback, dict) and fallback.get("kept") == "round":
        return f"The arbiter failed: the round {fallback.get('round', '?')} answer was kept"
    return "The arbiter failed: the best available answer was kept"


def threshold_text(row: dict[str, Any]) -> str:
    """`below the threshold: 0.40 < 0.90` for a run that fell short, else empty."""
    if not row.get("below_threshold"):
        return ""
    return f"below the threshold: {confidence_text(row.get('confidence'))} < {row['confidence_threshold']:.2f}"


def items(value: Any) -> list[str]:
    """A list-or-text field (refinement areas, dissent) as its non-empty items."""
    values = value if isinstance(value, list) else [value]
    found = [str(v).strip() for v in values if v is not None and str(v).strip()]
    return [v for v in found if v.lower() not in ("none", "n/a")]


def spending_text(usage: Any) -> str:
    """What a run cost and the calls its savings did not make, else empty:
    `cost $0.0021 · saved 3 calls (agreement 1, tiers 2)`."""
    usage = usage if isinstance(usage, dict) else {}
    parts = []
    if isinstance(usage.get("cost_usd"), (int, float)):
        parts.append(f"cost ${usage['cost_usd']:.4f}")
    saved = usage.get("calls_saved")
    if isinstance(saved, dict) and saved:
        kinds = ", ".join(f"{kind} {count}" for kind, count in saved.items())
        total = sum(count for count in saved.values() if isinstance(count, int))
        parts.append(f"saved {total} call{'s' if total != 1 else ''} ({kinds})")
    return " · ".join(parts)


def spending_lines(round_: dict[str, Any]) -> list[str]:
    """A round's spending decisions, one line each: each tier asked and why the next
    was, the waves, and why no arbiter was needed."""
    lines = []
    for tier in round_.get("tiers") or []:
        if isinstance(tier, dict):
            names = ", ".join(str(name) for name in tier.get("members") or [])
            why = f"; next tier asked: {tier['escalated']}" if tier.get("escalated") else ""
            lines.append(f"Tier {tier.get('tier', '?')} ({names}){why}")
    waves = round_.get("waves")
    if isinstance(waves, dict) and waves.get("skipped"):
        lines.append(f"Waves: the first {waves.get('called')} decided the vote; {waves['skipped']} not called")
    if round_.get("arbiter_skipped"):
        lines.append(f"Arbiter skipped: {round_['arbiter_skipped']}")
    return lines

"""A logged run's pieces in words, shared by both views of it (text and HTML), so a
round, a member or a confidence reads alike in both.

The trace comes through `read_trace`, so a value that is present has its declared
type; a field may still be missing (a trace logged by an older version lacks newer
ones), so optional fields are read with `.get`, and a missing one never hides the rest.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..judging import matching
from ..text.cuts import one_line
from ..text.words import UNKNOWN, dollars, noun_for, number, plural
from ..trace import (
    CallRecord,
    ReviewerRecord,
    ReviewRecord,
    RoundRecord,
    StandingRecord,
    Usage,
    VoteGroupRecord,
    name_of,
)

if TYPE_CHECKING:
    from ..history.logged_runs import Run


def seconds(ms: float | None) -> str:
    """`1234` -> `1.2s`; unknown durations print as `?`."""
    return "?" if ms is None else f"{ms / 1000:.1f}s"


def confidence_text(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}"


def tokens_text(usage: Usage) -> str:
    """One call's usage: `1,234 in / 56 out`; a count it did not report is `?`."""
    return f"{number(usage.get('input'))} in / {number(usage.get('output'))} out"


def partial_count(count: int | None, complete: bool) -> str:
    """A sum over calls: `1,234`; `1,234+?` when some call did not report its part;
    `?` when none did."""
    return number(count) + ("" if complete or count is None else f"+{UNKNOWN}")


def run_tokens_text(run: Run) -> str:
    """A whole run's usage: `1,234 in / 56 out`, unknown parts as `?`."""
    return f"{partial_count(*run.tokens('input'))} in / {partial_count(*run.tokens('output'))} out"


def tool_call_texts(member: CallRecord) -> list[str]:
    """One line per tool call the member's model made: the call, its duration or
    that another member's identical call supplied it, and its result's first line
    or its error."""
    texts = []
    for call in member.get("tool_calls", []):
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False, default=repr)
        when = "shared" if call.get("shared") else seconds(call.get("duration_ms"))
        who = f"{call['member']}: " if "> " in call.get("member", "") else ""
        first = (call.get("output", "").splitlines() or [""])[0]
        result = f"error: {call['error']}" if call.get("error") else first
        texts.append(f"{who}{call.get('name', '?')}({arguments}) {when} -> {result[:120]}")
    return texts


def retries_text(member: CallRecord) -> str:
    """What a call cost beyond one request, else empty: `6 requests in 2 attempts,
    2 failed`, `rate-limited 3x, waited 1.2s`, `queued 0.4s`, `1 abandoned`, and
    the model's in-flight limit when a rate limit lowered it."""
    attempts = member.get("attempts", [])
    requests = member.get("requests")
    bits = []
    if len(attempts) > 1 or (requests is not None and requests > 1):
        failed = sum(1 for attempt in attempts if not attempt.get("ok"))
        sent = f"{requests} requests in " if requests is not None and requests != len(attempts) else ""
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


def vote_groups(round_: RoundRecord) -> list[VoteGroupRecord]:
    """The round's vote groups when the run voted, else an empty list."""
    return round_.get("vote", {}).get("groups", [])


def round_heading(round_: RoundRecord, final_round: int | None) -> str:
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


def round_confidence(round_: RoundRecord) -> float | None:
    """The round's confidence: recorded by the engine (the arbiter's, or the vote's
    share), else read from an older trace's arbiter or vote."""
    for value in (
        round_.get("confidence"),
        round_.get("arbiter", {}).get("confidence"),
        round_.get("vote", {}).get("share"),
    ):
        if value is not None:
            return float(value)
    return None


def answers_text(agreed: int, total: int | None) -> str:
    """A share of the round's answers, in words: `2 of 3 answers`."""
    return f"{agreed} of {total if total else UNKNOWN} {noun_for(total or 0, 'answer')}"


def group_share(round_: RoundRecord, group: VoteGroupRecord) -> str:
    """A vote group's share of the round's answers: `2 of 3 answers` (its share of
    the panel, the confidence, is the round's `vote_line`)."""
    total = sum(len(g.get("members", [])) for g in vote_groups(round_))
    return answers_text(len(group.get("members", [])), total)


def vote_line(round_: RoundRecord) -> str | None:
    """The winning answer's share of the answers and of the panel, labelled, and the
    confidence it gives when the vote decided the round: `Vote: 2 of 3 answers, 2 of
    5 of the panel → confidence 0.40` (docs/confidence.md). None without a vote;
    a trace written before the panel was recorded shows the answers only."""
    groups = vote_groups(round_)
    if not groups:
        return None
    agreed = len(groups[0].get("members", []))
    text = f"Vote: {answers_text(agreed, sum(len(g.get('members', [])) for g in groups))}"
    panel = round_.get("panel")
    if panel:
        text += f", {agreed} of {panel} of the panel"
    arbiter = round_.get("arbiter")
    decided = arbiter is None or "error" in arbiter  # no arbiter's verdict: the vote's confidence is the round's
    confidence = round_.get("confidence")
    if decided and confidence is not None:
        text += f" → confidence {float(confidence):.2f}"
    return text


def group_extracted(group: VoteGroupRecord) -> str:
    """What made a vote group one group, as ` = 12 (stated answer, bare number)`
    (the conclusion, one line, at most 60 characters, and the rules that reduced
    its answers to it). The rules are always named; the conclusion only when it is
    more than the shown answer normalised (` (same text)`, ` (bare number)`).
    Nothing for traces written before matching was recorded."""
    extracted = group.get("extracted", "")
    rules = list(dict.fromkeys(c.get("rule", "") for c in group.get("conclusions", []) if c.get("rule")))
    why = f" ({', '.join(rules)})" if rules else ""
    if not extracted.strip() or extracted == matching.normalise(group.get("answer") or ""):
        return why
    return " = " + one_line(extracted, 60) + why


def fallback_text(round_: RoundRecord) -> str:
    """What happened when the round's arbiter failed, in one sentence."""
    fallback = round_.get("fallback", {})
    if fallback.get("kept") == "vote":
        if round_.get("vote", {}).get("by_field"):  # JSON, no two agreed
            return "The arbiter failed: the answer is the members' vote, taken field by field"
        agreed = fallback.get("members", [])
        share = answers_text(len(agreed), fallback.get("answered"))
        return f"The arbiter failed: the answer is the members' vote, {share}: {', '.join(agreed)}"
    if fallback.get("kept") == "round":
        return f"The arbiter failed: the round {fallback.get('round', '?')} answer was kept"
    if fallback.get("kept") == "review":
        top = ", ".join(fallback.get("members", [])) or UNKNOWN
        return f"The arbiter failed: the answer is the peer review's top-ranked one ({top})"
    return "The arbiter failed: the best available answer was kept"


def threshold_text(row: dict[str, Any]) -> str:
    """`below the threshold: 0.40 < 0.90` for a run that fell short, else empty."""
    if not row.get("below_threshold"):
        return ""
    return f"below the threshold: {confidence_text(row.get('confidence'))} < {row['confidence_threshold']:.2f}"


def items(value: str | list[str] | None) -> list[str]:
    """A list-or-text field (refinement areas, dissent) as its non-empty items."""
    values = value if isinstance(value, list) else [value]
    found = [v.strip() for v in values if v is not None and v.strip()]
    return [v for v in found if v.lower() not in ("none", "n/a")]


# ------------------------------------------------------------------ peer review


def decimal(value: float | None) -> str:
    """`0.50`; `?` when unknown."""
    return UNKNOWN if value is None else f"{value:.2f}"


def counted(reviewer: ReviewerRecord) -> bool:
    """Whether the reviewer's ranking went into the tally."""
    return "ranking" in reviewer and "error" not in reviewer


def ballots(review: ReviewRecord) -> list[ReviewerRecord]:
    """The reviewers whose ranking was counted."""
    return [r for r in review.get("reviewers", []) if counted(r)]


def review_summary(review: ReviewRecord) -> str:
    """`agreement (Kendall's W) 0.85 · 2 ballots from 3 reviewers`."""
    counted = plural(len(ballots(review)), "ballot")
    asked = plural(len(review.get("reviewers", [])), "reviewer")
    return f"agreement (Kendall's W) {decimal(review.get('agreement'))} · {counted} from {asked}"


def standing_text(standing: StandingRecord) -> str:
    """`score 1.00 · mean place 1.00 · first on 2 of 2 ballots`, flagged when every
    ballot that ranked it put it last."""
    ranked = standing.get("ballots")
    if ranked == 0:
        return "not ranked by any reviewer"
    text = (
        f"score {decimal(standing.get('score'))} · mean place {decimal(standing.get('mean_rank'))}"
        f" · first on {number(standing.get('firsts'))} of {plural(ranked, 'ballot') if ranked is not None else UNKNOWN}"
    )
    return text + (" · ranked last by every reviewer" if standing.get("ranked_last_by_all") else "")


def review_outcomes(review: ReviewRecord) -> list[str]:
    """What the review decided and who took no part, one sentence each: the answer it
    chose (no arbiter), why there was no ranking, members that did not review and
    reviewers dropped from the tally."""
    lines = []
    if review.get("winner"):
        lines.append(f"No arbiter: the top-ranked answer ({review['winner']}) is the round's answer")
    if review.get("why"):
        lines.append(f"No ranking: {review['why']}")
    lines += [f"Skipped {s.get('member', UNKNOWN)}: {s.get('why', UNKNOWN)}" for s in review.get("skipped", [])]
    for reviewer in review.get("reviewers", []):
        if not counted(reviewer):
            why = reviewer.get("error") or "no ranking recorded"
            lines.append(f"Dropped {name_of(reviewer)} from the tally: {why}")
    return lines


def place_given(reviewer: ReviewerRecord, member: str) -> str:
    """The place (`1`, `2`, ...) `reviewer` gave `member`'s answer; `own` for its own
    answer, `-` for an answer it was not shown."""
    ranking = reviewer.get("ranking", [])
    if member in ranking:
        return str(ranking.index(member) + 1)
    return "own" if member == name_of(reviewer) else "-"


def spending_text(usage: Any) -> str:
    """What a run cost and the calls its savings did not make, else empty:
    `cost $0.00213 · saved 3 calls (agreement 1, tiers 2)`."""
    usage = usage if isinstance(usage, dict) else {}
    parts = []
    if isinstance(usage.get("cost_usd"), (int, float)):
        parts.append(f"cost {dollars(usage['cost_usd'])}")
    saved = usage.get("calls_saved")
    if isinstance(saved, dict) and saved:
        kinds = ", ".join(f"{kind} {count}" for kind, count in saved.items())
        total = sum(count for count in saved.values() if isinstance(count, int))
        parts.append(f"saved {plural(total, 'call')} ({kinds})")
    return " · ".join(parts)


def spending_lines(round_: RoundRecord) -> list[str]:
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

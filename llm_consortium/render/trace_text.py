"""The plain-text account of one run that `llm consortiums trace` prints.

Pure formatting: a run (its trace read through `read_trace`) in, lines out; the
pieces shared with the HTML view are in `trace_phrases`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..text.cuts import shortened
from ..text.words import plural
from ..trace import ArbiterRecord, CallRecord, ReviewRecord, RoundRecord, name_of
from .trace_phrases import (
    confidence_text,
    counted,
    fallback_text,
    group_extracted,
    group_share,
    items,
    place_given,
    retries_text,
    review_outcomes,
    review_summary,
    round_heading,
    run_tokens_text,
    seconds,
    spending_lines,
    spending_text,
    standing_text,
    threshold_text,
    tokens_text,
    tool_call_texts,
    vote_groups,
    vote_line,
)

if TYPE_CHECKING:
    from ..history.logged_runs import Run

PREVIEW_LINES = 3
PREVIEW_WIDTH = 100


def preview(text: str, full: bool) -> list[str]:
    """The whole text, or its first few non-blank lines each cut to a readable width."""
    lines = text.strip().splitlines() or [""]
    if full:
        return lines
    lines = [line for line in lines if line.strip()]
    shown = [shortened(line, PREVIEW_WIDTH) for line in lines[:PREVIEW_LINES]]
    if len(lines) > PREVIEW_LINES:
        shown.append(f"… ({len(lines) - PREVIEW_LINES} more lines; --full shows all)")
    return shown


def _indented(lines: list[str], prefix: str) -> list[str]:
    return [prefix + line for line in lines]


def _member_lines(member: CallRecord, full: bool) -> list[str]:
    label = member.get("label", "")
    head = f"  {label:<3} {name_of(member):<24} {seconds(member.get('duration_ms')):>6}"
    retries = retries_text(member)
    if "error" in member:
        detail = f"FAILED: {member.get('error')}"
        if retries:
            detail += f" ({retries})"
        lines = [f"{head}  {detail}"]
        if member.get("rejected"):  # an answer that failed the schema, as it was written
            said = preview(member["rejected"], full) or [""]
            lines += [f"        said: {said[0]}", *_indented(said[1:], "              ")]
        return lines
    head += f"  {tokens_text(member.get('usage', {}))}"
    if retries:
        head += f"  ({retries})"
    tools = [f"        tool {text}" for text in tool_call_texts(member)]
    return [head, *tools, *_indented(preview(member.get("text", ""), full), "        ")]


def _review_lines(review: ReviewRecord, full: bool) -> list[str]:
    """The round's peer review: the aggregate ranking with each answer's score and
    mean place, the agreement, who was skipped or dropped; with `full`, every
    counted reviewer's ballot and reasons, and a dropped one's reply."""
    lines = [f"  Peer review · {review_summary(review)}"]
    table = review.get("ranking", [])
    width = max((len(s.get("member", "?")) for s in table), default=0)
    for place, standing in enumerate(table, 1):
        lines.append(f"    {place}. {standing.get('member', '?'):<{width}}  {standing_text(standing)}")
    lines += [f"    {line}" for line in review_outcomes(review)]
    if not full:
        return lines
    for reviewer in review.get("reviewers", []):
        head = f"    Reviewer {name_of(reviewer)}  {seconds(reviewer.get('duration_ms'))}"
        head += f"  {tokens_text(reviewer.get('usage', {}))}"
        if not counted(reviewer):
            lines.append(f"{head}  not counted")
            lines += _indented(preview(reviewer.get("raw", ""), full), "        raw: ") if reviewer.get("raw") else []
            continue
        lines.append(f"{head}  shown {', '.join(reviewer.get('shown', []))}")
        reasons = reviewer.get("reasons", {})
        for member in reviewer.get("ranking", []):
            said = preview(reasons.get(member, ""), full)
            lines.append(f"      {place_given(reviewer, member)}. {member}: {said[0]}")
            lines += _indented(said[1:], "         ")
    return lines


def _arbiter_lines(arbiter: ArbiterRecord, full: bool, won: bool) -> list[str]:
    head = f"  Arbiter {arbiter.get('model', '?')}  {seconds(arbiter.get('duration_ms'))}"
    if "error" in arbiter:
        lines = [f"{head}  FAILED: {arbiter.get('error')}"]
        if arbiter.get("raw"):
            lines += _indented(preview(arbiter["raw"], full), "        raw: ")
        return lines
    head += f"  {tokens_text(arbiter.get('usage', {}))}  confidence {confidence_text(arbiter.get('confidence'))}"
    if arbiter.get("needs_iteration"):
        head += "  (asked for another round)"
    if arbiter.get("tagged") is False:
        head += "  (untagged reply)"
    lines = [head]
    for dissent in items(arbiter.get("dissent")):
        lines += _indented(preview(dissent, full), "    Dissent: ")
    areas = items(arbiter.get("refinement_areas"))
    if areas:
        lines.append("    Refine:")
        for area in areas:  # one per line, each a bullet
            lines += [f"      - {line}" for line in preview(area, full)]
    title = "Synthesis (the answer)" if won else "Synthesis"
    lines.append(f"    {title}:")
    lines += _indented(preview(arbiter.get("synthesis", ""), full), "        ")
    return lines


def _vote_lines(round_: RoundRecord, full: bool) -> list[str]:
    lines = []
    for group in vote_groups(round_):
        members = ", ".join(group.get("members", []))
        lines.append(f"  Vote {group_share(round_, group)}{group_extracted(group)}: {members}")
        lines += _indented(preview(group.get("answer") or "", full), "        ")
    if (line := vote_line(round_)) is not None:
        lines.append(f"  {line}")
    for call in round_.get("matching", []):  # the matcher's model calls, made for the vote's grouping
        head = f"  Matching {name_of(call)}  {seconds(call.get('duration_ms'))}"
        tail = f"FAILED: {call['error']}" if "error" in call else tokens_text(call.get("usage", {}))
        lines.append(f"{head}  {tail}")
    by_field = round_.get("vote", {}).get("by_field")
    if by_field is not None:  # a JSON vote where no two answers agreed
        lines.append("  Voted field by field:")
        for name, field in by_field.items():
            value = "(left out)" if field.get("absent") else json.dumps(field.get("value"), ensure_ascii=False)
            members = ", ".join(field.get("members", []))
            lines += _indented(preview(f"{name} = {value} ({members})", full), "    ")
    return lines


def _round_lines(round_: RoundRecord, final_round: int | None, full: bool) -> list[str]:
    lines = ["", round_heading(round_, final_round)]
    for member in sorted(round_["members"], key=lambda m: m.get("label") or "~"):
        lines += _member_lines(member, full)
    if "review" in round_:
        lines += _review_lines(round_["review"], full)
    lines += _vote_lines(round_, full)
    lines += [f"  {line}" for line in spending_lines(round_)]
    if "arbiter" in round_:
        lines += _arbiter_lines(round_["arbiter"], full, round_.get("round") == final_round)
    if round_.get("failed"):
        lines.append(f"  Round failed: {round_['failed']}")
    if round_.get("fallback"):
        lines.append(f"  {fallback_text(round_)}")
    return lines


def render(run: Run, full: bool = False) -> str:
    """The whole trace of `run` as text."""
    trace = run.trace
    summary = run.row()
    final_round = trace.get("final_round")
    lines = [
        f"Run {run.id} · {run.consortium} · {run.datetime_utc[:19].replace('T', ' ')} UTC",
        (
            f"{plural(summary['rounds'], 'round')} · final confidence {confidence_text(trace.get('confidence'))}"
            f" (round {final_round}) · tokens {run_tokens_text(run)}"
            f" · {seconds(run.duration_ms)}"
            + "".join(f" · {part}" for part in [spending_text(trace.get("usage"))] if part)
        ),
    ]
    if trace.get("stopped"):
        lines.append(f"STOPPED EARLY: {trace['stopped']}")
    if summary.get("below_threshold"):
        lines.append(f"WARNING: {threshold_text(summary)}; the consortium did not reach the confidence it asks for")
    lines += _indented(preview(run.prompt, full), "Prompt: ")
    for round_ in trace["rounds"]:
        lines += _round_lines(round_, final_round, full)
    notes = trace["notes"]
    if notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in notes]
    return "\n".join(lines)

"""One run's deliberation as a single self-contained HTML page.

The page must open straight from disk, offline, years later: so it has inline CSS, an
inline SVG chart, no script, no link, no URL of any kind (the document itself, the
shared CSS and the escaping are render/page.py, shared with the eval page). Answers are shown as rendered
markdown (render/markdown.py: raw HTML escaped, links and images as plain text) and
long ones folded; every other piece of model text is escaped, since answers are
untrusted and may well contain HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..text.words import plural
from ..trace import ArbiterRecord, CallRecord, ReviewRecord, RoundRecord, name_of
from .markdown import answer_html
from .page import document, escape
from .trace_phrases import (
    ballots,
    confidence_text,
    fallback_text,
    group_extracted,
    group_share,
    items,
    place_given,
    retries_text,
    review_outcomes,
    review_summary,
    round_confidence,
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
)

if TYPE_CHECKING:
    from ..history.logged_runs import Run

_CSS = """
.prompt,.answer{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.6em .9em}
.answer{border-color:#2e7d32;border-width:2px}
.members{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:.8em}
.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.6em .8em;overflow:auto}
.card h3{font-size:1em;margin:0 0 .3em}.card .stats{color:#666;font-size:.85em}
.failed{border:2px solid #c62828;background:#fff5f5}.failed .error{color:#c62828;font-weight:600}
.arbiter{margin-top:.8em;border-left:4px solid #1565c0}.won{border-left-color:#2e7d32;background:#f3fbf3}
.vote{margin-top:.8em;border-left:4px solid #6a1b9a}
.notes li{color:#8a5a00}
.md{overflow-wrap:anywhere}.md>:first-child{margin-top:.2em}.md>:last-child{margin-bottom:.2em}
.md h1,.md h2,.md h3,.md h4{font-size:1em;border:0;margin:.6em 0 .3em}
.md pre{background:#f4f4f4;padding:.4em .6em;border-radius:4px;overflow:auto;white-space:pre}
.md code{font:13px/1.4 ui-monospace,monospace;background:#f4f4f4;padding:0 .2em}
.md table{border-collapse:collapse}.md td,.md th{border:1px solid #ccc;padding:.2em .5em}
.md blockquote{margin:.3em 0;padding-left:.8em;border-left:3px solid #ccc;color:#444}
.md .url{color:#555;font-size:.9em;overflow-wrap:anywhere}
details>summary{cursor:pointer;color:#333}details>summary .size{color:#777;font-size:.85em}
.below{border:2px solid #b26a00;background:#fff8e6;color:#7a4a00;font-weight:600}
.review{margin-top:.8em;border-left:4px solid #00838f}
.ranking{border-collapse:collapse;margin:.4em 0}.ranking td,.ranking th{border:1px solid #ccc;padding:.2em .5em}
.ranking td.n{text-align:right}.ranking .last td{background:#fff5f5}
"""


def _pre(text: Any) -> str:
    return f"<pre>{escape(text)}</pre>"


THRESHOLD_LABEL_ROOM = 100
"""Pixels right of the bars for the label "threshold 0.85" in the chart's 12 px font."""


def confidence_chart(
    rounds: list[RoundRecord], final_round: int | None, threshold: float | None = None
) -> str:
    """An inline SVG bar chart of each round's confidence (0 to 1): the arbiter's, or
    the vote's share; a dashed line marks the threshold when the trace has one.

    Rounds without a confidence (failed or untagged arbiter) get an empty slot marked
    "?", so the x axis always counts every round."""
    bar, gap, height, top, bottom, left = 46, 18, 120, 22, 22, 34
    shows_threshold = isinstance(threshold, (int, float)) and 0 <= threshold <= 1
    plot_right = left + len(rounds) * (bar + gap) + gap
    # The threshold's label sits in a margin of its own, right of the last bar: over
    # the plot it would be hidden behind any bar that reaches it.
    width = plot_right + (THRESHOLD_LABEL_ROOM if shows_threshold else 0)
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height + top + bottom}" '
        f'viewBox="0 0 {width} {height + top + bottom}">',
        "<title>Confidence per round</title>",
    ]
    for tick in (0, 0.5, 1):
        y = top + height - tick * height
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="#ddd"></line>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for index, round_ in enumerate(rounds):
        x = left + gap + index * (bar + gap)
        number = round_.get("round", index + 1)
        value = round_confidence(round_)
        label_y = top + height + 16
        parts.append(
            f'<text x="{x + bar / 2}" y="{label_y}" text-anchor="middle">round {escape(str(number))}</text>'
        )
        if value is not None:
            clamped = min(max(value, 0.0), 1.0)
            bar_height = clamped * height
            colour = "#2e7d32" if number == final_round else "#1565c0"
            parts.append(
                f'<rect x="{x}" y="{top + height - bar_height:.1f}" width="{bar}" '
                f'height="{bar_height:.1f}" fill="{colour}"><title>round {escape(str(number))}: '
                f"{clamped:.2f}</title></rect>"
            )
            parts.append(
                f'<text x="{x + bar / 2}" y="{top + height - bar_height - 3:.1f}" '
                f'text-anchor="middle">{clamped:.2f}</text>'
            )
        else:
            parts.append(f'<text x="{x + bar / 2}" y="{top + height - 4}" text-anchor="middle">?</text>')
    if shows_threshold:
        assert threshold is not None
        y = top + height - threshold * height
        # Drawn after the bars, so the dashed line stays visible across them.
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" '
            f'stroke="#b26a00" stroke-width="1.5" stroke-dasharray="5 3"><title>threshold {threshold:g}</title></line>'
        )
        parts.append(
            f'<text class="threshold" x="{plot_right + 4}" y="{y + 4:.1f}" text-anchor="start" '
            f'fill="#b26a00">threshold {threshold:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _member_card(member: CallRecord) -> str:
    failed = "error" in member
    label = escape(member.get("label", ""))
    stats = [seconds(member.get("duration_ms"))]
    if not failed:
        stats.append(f"tokens {tokens_text(member.get('usage', {}))}")
    if retries_text(member):
        stats.append(retries_text(member))
    body = (
        f'<p class="error">Failed: {escape(str(member.get("error")))}</p>'
        if failed
        else answer_html(member.get("text", ""))
    )
    if member.get("rejected"):  # an answer that failed the schema, as it was written
        body += f"<p>Its answer:</p>{_pre(member['rejected'])}"
    tools = "".join(f"<li>{escape(text)}</li>" for text in tool_call_texts(member))
    if tools:
        body = f'<ul class="tools">{tools}</ul>' + body
    title = f"{label} · {escape(name_of(member))}" if label else escape(name_of(member))
    return (
        f'<div class="card{" failed" if failed else ""}"><h3>{title}</h3>'
        f'<div class="stats">{escape(" · ".join(stats))}</div>{body}</div>'
    )


def _arbiter_block(arbiter: ArbiterRecord, won: bool) -> str:
    title = f"Arbiter {escape(arbiter.get('model', '?'))}"
    if "error" in arbiter:
        raw = f"<p>Its reply:</p>{_pre(arbiter['raw'])}" if arbiter.get("raw") else ""
        return (
            f'<div class="card arbiter failed"><h3>{title}</h3>'
            f'<p class="error">Failed: {escape(str(arbiter["error"]))}</p>{raw}</div>'
        )
    stats = [
        f"confidence {confidence_text(arbiter.get('confidence'))}",
        seconds(arbiter.get("duration_ms")),
        f"tokens {tokens_text(arbiter.get('usage', {}))}",
    ]
    if arbiter.get("needs_iteration"):
        stats.append("asked for another round")
    parts = [
        f'<div class="card arbiter{" won" if won else ""}"><h3>{title}'
        f'{" · this synthesis is the answer" if won else ""}</h3>'
        f'<div class="stats">{escape(" · ".join(stats))}</div>'
    ]
    sections = (
        ("Dissent", items(arbiter.get("dissent"))),
        ("Refinement areas", items(arbiter.get("refinement_areas"))),
        ("Analysis", items(arbiter.get("analysis"))),
    )
    for heading, found in sections:
        if len(found) > 1:  # one per line, as a list
            parts.append(f"<h4>{heading}</h4><ul>" + "".join(f"<li>{escape(v)}</li>" for v in found) + "</ul>")
        elif found:
            parts.append(f"<h4>{heading}</h4>{answer_html(found[0])}")
    parts.append(f"<h4>Synthesis</h4>{answer_html(arbiter.get('synthesis', ''))}</div>")
    return "".join(parts)


def _vote_block(round_: RoundRecord) -> str:
    groups = vote_groups(round_)
    if not groups:
        return ""
    entries = "".join(
        f"<li><strong>{escape(group_share(round_, g) + group_extracted(g))}</strong> "
        f"({escape(', '.join(g.get('members', [])))}){answer_html(g.get('answer', ''))}</li>"
        for g in groups
    )
    return f'<div class="card vote"><h3>Vote</h3><ul>{entries}</ul></div>'


def _review_block(review: ReviewRecord) -> str:
    """The round's peer review as a small table: the aggregate ranking (score, mean
    place) with the place each counted reviewer gave every answer, then the
    agreement, who was skipped or dropped, and the reviewers' reasons folded."""
    voters = ballots(review)
    head = "".join(f"<th>{escape(name_of(r))}</th>" for r in voters)
    rows = []
    for place, standing in enumerate(review.get("ranking", []), 1):
        member = standing.get("member", "?")
        cells = "".join(f'<td class="n">{escape(place_given(r, member))}</td>' for r in voters)
        last = ' class="last"' if standing.get("ranked_last_by_all") else ""
        rows.append(
            f'<tr{last}><td class="n">{place}</td>'
            f"<td>{escape(member)}</td><td>{escape(standing_text(standing))}</td>{cells}</tr>"
        )
    table = (
        '<table class="ranking"><thead><tr><th>#</th><th>answer of</th><th>aggregate</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else ""
    )
    outcomes = "".join(f"<li>{escape(line)}</li>" for line in review_outcomes(review))
    reasons = "".join(
        f"<li>{escape(name_of(r))} on {escape(member)} (place {escape(place_given(r, member))}): "
        f"{escape(r.get('reasons', {}).get(member, ''))}</li>"
        for r in voters
        for member in r.get("ranking", [])
    )
    return (
        f'<div class="card review"><h3>Peer review</h3><div class="stats">{escape(review_summary(review))}</div>'
        f"{table}{f'<ul>{outcomes}</ul>' if outcomes else ''}"
        f"{f'<details><summary>Reviewers&#x27; reasons</summary><ul>{reasons}</ul></details>' if reasons else ''}"
        "</div>"
    )


def _round_section(round_: RoundRecord, final_round: int | None) -> str:
    members = sorted(round_["members"], key=lambda m: m.get("label") or "~")
    parts = [
        f"<section><h2>{escape(round_heading(round_, final_round))}</h2>",
        '<div class="members">',
        *(_member_card(m) for m in members),
        "</div>",
        _review_block(round_["review"]) if "review" in round_ else "",
        _vote_block(round_),
        *(f'<p class="card">{escape(line)}</p>' for line in spending_lines(round_)),
    ]
    if "arbiter" in round_:
        parts.append(_arbiter_block(round_["arbiter"], round_.get("round") == final_round))
    if round_.get("failed"):
        parts.append(f'<p class="card failed error">Round failed: {escape(str(round_["failed"]))}</p>')
    if round_.get("fallback"):
        parts.append(f'<p class="card failed error">{escape(fallback_text(round_))}.</p>')
    parts.append("</section>")
    return "".join(parts)


def render(run: Run) -> str:
    """The complete HTML document for `run`."""
    trace = run.trace
    summary = run.row()
    rounds = trace["rounds"]
    final_round = trace.get("final_round")
    title = f"{run.consortium} · {run.id}"
    failures = summary.get("arbiter_failures") or 0
    arbiter_failed = f", {plural(failures, 'failed arbiter call')}" if failures else ""
    below = (
        f'<p class="card below">This answer is {escape(threshold_text(summary))}: the consortium did not '
        "reach the confidence it asks for.</p>"
        if summary.get("below_threshold")
        else ""
    )
    meta = (
        f"{run.datetime_utc[:19].replace('T', ' ')} UTC · {plural(summary['rounds'], 'round')} · "
        f"final confidence {confidence_text(trace.get('confidence'))} (round {final_round}) · "
        f"{plural(summary['members'], 'member')}, {plural(summary['member_failures'], 'failed member call')}"
        f"{arbiter_failed} · tokens {run_tokens_text(run)} · {seconds(run.duration_ms)}"
        + "".join(f" · {part}" for part in [spending_text(trace.get("usage"))] if part)
    )
    if trace.get("stopped"):
        below += f'<p class="card below">Stopped early: {escape(str(trace["stopped"]))}</p>'
    notes = trace["notes"]
    notes_html = (
        '<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    body = "".join(
        [
            f"<h1>Consortium {escape(run.consortium)}</h1>",
            f'<p class="meta">Response {escape(run.id)} · {escape(meta)}</p>',
            f'<h2>Prompt</h2><div class="prompt">{_pre(run.prompt)}</div>',
            f'<h2>Answer</h2>{below}<div class="answer">{answer_html(run.response, fold=False)}</div>',
            "<h2>Confidence per round</h2>",
            confidence_chart(rounds, final_round, summary.get("confidence_threshold")),
            *(_round_section(r, final_round) for r in rounds),
            notes_html,
        ]
    )
    return document(title, body, _CSS)

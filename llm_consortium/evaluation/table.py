"""The eval report as text for the terminal: one row per system, the paired
comparisons, each consortium's flips, final rounds and calibration, then the verdict.

Names come from files the user wrote (model ids, the dataset path), so every one of
them is made inert before it reaches the terminal. Unknown figures (a plugin that
reports no token usage, a model without a price) are "-", never 0.
"""

from __future__ import annotations

from typing import Any

from ..text.terminal import inert
from ..text.words import dollars, noun_for, plural
from .paired_verdict import p_text, points

HEADINGS = ("system", "correct", "accuracy", "95% CI", "calls", "input", "output", "cost", "errors",
            "own p50 ms", "own p95 ms", "waited p50 ms", "fell back")
LATENCY_NOTE = (
    "Latency per item: 'own' is the time of the system's own calls; 'waited' the time it waited for a "
    "concurrency slot or a rate limit while none of its own calls ran (other systems' calls), not counted "
    "in 'own'. 'fell back': items on which a consortium's arbiter failed and the answer fell back to an "
    "earlier round, the peer review or the members' vote."
)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def number(value: float | None) -> str:
    """A count or a time with thousands separators; "-" when unknown."""
    return "-" if value is None else f"{value:,.0f}"


def label(system: dict[str, Any], consortiums: int = 1) -> str:
    """"member alpha"; a baseline names the consortium whose budget it matches when
    there are several."""
    text = f"{system['kind']} {system['name']}"
    if system["kind"] == "baseline" and consortiums > 1:
        text += f" (budget of {system['of'][0]})"
    return text


def cells(system: dict[str, Any]) -> list[str]:
    """A system's figures as the table shows them, after its label."""
    low, high = system["ci95"]
    return [
        f"{system['correct']}/{system['total']}", _percent(system["accuracy"]), f"{_percent(low)}-{_percent(high)}",
        number(system["calls"]), number(system["input_tokens"]), number(system["output_tokens"]),
        dollars(system["cost"]), number(system["errors"]), number(system["own_ms_p50"]),
        number(system["own_ms_p95"]), number(system["wait_ms_p50"]),
        number(system["arbiter_fallbacks"]["items"]) if system["kind"] == "consortium" else "-",
    ]


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]).rstrip()
        for row in rows
    ]


def comparison_rows(report: dict[str, Any]) -> list[list[str]]:
    """Each paired comparison: who against whom, the difference in points with its
    interval, the discordant items and the p-value."""
    consortiums = len(report["consortiums"])
    names = {s["key"]: s["name"] if s["kind"] == "consortium" else label(s, consortiums) for s in report["systems"]}
    rows = [["comparison", "difference", "95% CI", "a only", "b only", "McNemar p", "result"]]
    for c in report["comparisons"]:
        low, high = c["ci95"]
        rows.append([
            f"{names[c['a']]} - {names[c['b']]}", points(c["difference"] or 0.0),
            f"{points(low)} to {points(high)}", number(c["discordant"][0]), number(c["discordant"][1]),
            p_text(c["p_value"]).removeprefix("p = "), c["result"],
        ])
    return rows


def render(report: dict[str, Any]) -> str:
    consortiums = len(report["consortiums"])
    rows = [list(HEADINGS)] + [[inert(label(s, consortiums)), *cells(s)] for s in report["systems"]]
    lines = [
        f"Eval of {inert(', '.join(report['consortiums']))} on {inert(report['dataset'])}: "
        f"{plural(report['items'], 'item')}, scorer {report['scorer']}",
        "",
        *_columns(rows),
        LATENCY_NOTE,
    ]
    if report["comparisons"]:
        lines += ["", "Paired comparisons (difference in accuracy points, a - b; 'a only': items only a got right):"]
        lines += [inert(line) for line in _columns(comparison_rows(report))]
    for system in report["systems"]:
        if system["kind"] == "consortium":
            lines += ["", f"Consortium {inert(system['name'])}:", *_consortium_lines(system)]
    judge = report.get("judge")
    if judge:
        lines.append(
            f"Judge {inert(judge['model'])}: {plural(judge['calls'], 'call')}, {number(judge['input_tokens'])} "
            f"input / {number(judge['output_tokens'])} output tokens, cost {dollars(judge['cost'])}, "
            f"{plural(judge['errors'], 'unreadable verdict')} (not in the systems' figures)"
        )
    if report["verdict"]["line"]:
        lines += ["", *(inert(line) for line in report["verdict"]["line"].splitlines())]
    return "\n".join(lines)


def fallback_text(fallbacks: dict[str, Any], total: int) -> str:
    """`The arbiter failed and the answer fell back: 11 rounds on 5 of 5 items
    (lines 2, 3, 4, 5, 6)`; empty when it never did."""
    if not fallbacks["items"]:
        return ""
    lines = ", ".join(str(line) for line in fallbacks["lines"])
    return (
        f"The arbiter failed and the answer fell back: {plural(fallbacks['rounds'], 'round')} on "
        f"{fallbacks['items']} of {plural(total, 'item')} ({noun_for(fallbacks['items'], 'line')} {lines})"
    )


def _consortium_lines(system: dict[str, Any]) -> list[str]:
    flips = system["flips"]
    lines = [
        f"Answer flips between rounds: {flips['right_to_wrong']} right->wrong, "
        f"{flips['wrong_to_right']} wrong->right"
    ]
    fell = fallback_text(system["arbiter_fallbacks"], system["total"])
    if fell:
        lines.append(fell)
    if system.get("failed_calls"):
        lines.append(f"Failed calls: {system['failed_calls']} (counted in its calls)")
    rounds = system["final_rounds"]
    if rounds:
        lines.append("Final answer from round: " + ", ".join(f"{k}: {v}" for k, v in rounds.items()))
    calibration = system["calibration"]
    if calibration["ece"] is None:
        lines.append("Calibration: no final confidences to check")
        return lines
    lines.append(
        f"Calibration: expected calibration error {calibration['ece']:.3f} over {plural(calibration['items'], 'item')}"
    )
    for b in calibration["bins"]:
        if b["count"]:
            lines.append(
                f"  confidence {b['low']:.1f}-{b['high']:.1f}: {plural(b['count'], 'item')}, "
                f"mean confidence {b['confidence']:.2f}, right {_percent(b['accuracy'])}"
            )
    return lines

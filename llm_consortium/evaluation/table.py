"""The eval report as text for the terminal: one row per system, then the
consortium's flips, final rounds and calibration, then the verdict.

Names come from files the user wrote (model ids, the dataset path), so every one of
them is made inert before it reaches the terminal.
"""

from __future__ import annotations

from typing import Any

from ..text.terminal import inert

HEADINGS = ("system", "correct", "accuracy", "95% CI", "calls", "input", "output", "cost", "errors", "p50 ms", "p95 ms")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def money(value: float | None) -> str:
    """Dollars, with enough digits that a cheap model's cost is not shown as 0."""
    if value is None:
        return "-"
    return f"${value:,.2f}" if value >= 10 else f"${value:.6f}".rstrip("0").rstrip(".") if value else "$0"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _label(system: dict[str, Any]) -> str:
    return f"{system['kind']} {inert(system['name'])}"


def render(report: dict[str, Any]) -> str:
    header = ["system", *HEADINGS[1:]]
    rows = [header]
    for s in report["systems"]:
        low, high = s["ci95"]
        rows.append(
            [
                _label(s),
                f"{s['correct']}/{s['total']}",
                _percent(s["accuracy"]),
                f"{_percent(low)}-{_percent(high)}",
                str(s["calls"]),
                f"{s['input_tokens']:,}",
                f"{s['output_tokens']:,}",
                money(s["cost"]),
                str(s["errors"]),
                _ms(s["latency_ms_p50"]),
                _ms(s["latency_ms_p95"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"Eval of {inert(report['consortium'])} on {inert(report['dataset'])}: "
        f"{report['items']} items, scorer {report['scorer']}",
        "",
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    if any(s["kind"] == "consortium" for s in report["systems"]):
        lines.append("")
        lines.extend(_consortium_lines(report))
    judge = report.get("judge")
    if judge:
        lines.append(
            f"Judge {inert(judge['model'])}: {judge['calls']} calls, {judge['input_tokens']:,} input / "
            f"{judge['output_tokens']:,} output tokens, cost {money(judge['cost'])}, "
            f"{judge['errors']} unreadable verdicts (not in the systems' figures)"
        )
    if report["verdict"]["line"]:
        lines.extend(["", inert(report["verdict"]["line"])])
    return "\n".join(lines)


def _consortium_lines(report: dict[str, Any]) -> list[str]:
    flips = report["flips"]
    lines = [
        f"Answer flips between rounds: {flips['right_to_wrong']} right->wrong, "
        f"{flips['wrong_to_right']} wrong->right"
    ]
    rounds = report["final_rounds"]
    if rounds:
        lines.append("Final answer from round: " + ", ".join(f"{k}: {v}" for k, v in rounds.items()))
    calibration = report["calibration"]
    if calibration["ece"] is None:
        lines.append("Calibration: no final confidences to check")
        return lines
    lines.append(
        f"Calibration: expected calibration error {calibration['ece']:.3f} over {calibration['items']} items"
    )
    for b in calibration["bins"]:
        if b["count"]:
            lines.append(
                f"  confidence {b['low']:.1f}-{b['high']:.1f}: {b['count']} item{'s' if b['count'] != 1 else ''}, "
                f"mean confidence {b['confidence']:.2f}, right {_percent(b['accuracy'])}"
            )
    return lines

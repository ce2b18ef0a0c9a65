"""The eval report as one self-contained HTML page.

Like the trace page, it must open from disk, offline, years later: inline CSS, inline
SVG charts, no script, no link, no URL. Answers, prompts and names are untrusted
text and are all escaped. The document, the shared CSS and the escaping are
render/page.py's, as for the trace page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..render.page import document, escape
from ..text.cuts import shortened
from ..text.words import dollars, plural
from .charts import forest_plot, place_labels
from .figures import disagreements
from .table import HEADINGS, LATENCY_NOTE, cells, fallback_text, label

_CSS = """
body{max-width:1200px}.verdict{background:#fff;border-left:4px solid #1565c0;padding:.5em .9em}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.3em .6em;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}.right{background:#f0faf0}.wrong{background:#fff3f3}
pre{margin:0;max-width:40em;overflow-wrap:anywhere}svg{background:#fff;border:1px solid #ddd;max-width:100%}
.scroll{max-width:100%;overflow-x:auto}.wide td{min-width:8em}.wide td pre{max-width:28em}
"""
_COLOURS = {"consortium": "#1565c0", "member": "#6d6d6d", "baseline": "#e65100"}
KEPT = {"round": "earlier round's answer", "review": "peer review's top answer", "vote": "members' vote"}
W, H, LEFT, TOP, BOTTOM, RIGHT = 560, 300, 56, 16, 44, 16
LABELS = 240  # the accuracy chart's column of labels, right of the plot
LEGEND = 22  # the accuracy chart's legend row, under the x axis's title
LABEL_CHARS = 34  # a longer label is cut (its whole text is in the point's tooltip)


def _e(value: Any) -> str:
    return escape(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _axes(x_label: str, y_label: str) -> list[str]:
    bottom = TOP + H
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + W}" y2="{bottom}" stroke="#333"></line>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333"></line>',
        f'<text x="{LEFT + W / 2}" y="{bottom + 36}" text-anchor="middle">{_e(x_label)}</text>',
        f'<text x="14" y="{TOP + H / 2}" text-anchor="middle" transform="rotate(-90 14 {TOP + H / 2})">'
        f"{_e(y_label)}</text>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = bottom - tick * H
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + W}" y2="{y:.1f}" stroke="#eee"></line>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    return parts


def _svg(title: str, body: list[str], wider: int = 0, taller: int = 0) -> str:
    width, height = LEFT + W + RIGHT + wider, TOP + H + BOTTOM + taller
    return (
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{_e(title)}</title>" + "".join(body) + "</svg>"
    )


def spend_axis(systems: list[dict[str, Any]]) -> tuple[str, list[float]]:
    """What the chart's x axis measures: cost when every system has one, else tokens
    when every system's are known, else calls (known even when a plugin reports no
    usage). Never a mix, and never an unknown drawn as 0."""
    if all(s["cost"] is not None for s in systems):
        return "cost (USD)", [s["cost"] for s in systems]
    if all(s["input_tokens"] is not None and s["output_tokens"] is not None for s in systems):
        return "tokens (input + output)", [s["input_tokens"] + s["output_tokens"] for s in systems]
    return "calls", [float(s["calls"]) for s in systems]


def accuracy_chart(systems: list[dict[str, Any]], consortiums: int = 1) -> str:
    """Accuracy (with its 95% interval) against cost, tokens or calls (`spend_axis`).

    Each point is named as the table names it ("member e1", "baseline e1"), so a
    member and a baseline of one model are told apart, and the colours have a legend.
    The names stand in a column right of the plot, placed by `place_labels` and
    joined to their point by a thin line: no name ever sits on a point or on an
    interval bar, and no two names overlap."""
    axis, spend = spend_axis(systems)
    by_cost = axis.startswith("cost")
    top = max(spend, default=0) or 1
    body = _axes(axis, "accuracy")
    bottom = TOP + H
    for fraction in (0, 0.5, 1):
        x = LEFT + fraction * W * 0.9
        value = top * fraction
        text = dollars(value) if by_cost else f"{value:,.0f}" if value >= 100 else f"{value:g}"
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{_e(text)}</text>')
    body += _legend(sorted({s["kind"] for s in systems}, key=list(_COLOURS).index))
    shown = [(s, amount) for s, amount in zip(systems, spend, strict=True) if s["accuracy"] is not None]
    points = [(LEFT + amount / top * W * 0.9, bottom - s["accuracy"] * H) for s, amount in shown]
    label_ys = place_labels([y + 4 for _, y in points], TOP, bottom)
    column = LEFT + W + RIGHT
    for (system, _), (x, y), label_y in zip(shown, points, label_ys, strict=True):
        colour = _COLOURS[system["kind"]]
        low, high = system["ci95"]
        y_low, y_high = (bottom - v * H for v in (low, high))
        name = label(system, consortiums)
        body.append(
            f'<line class="bar" x1="{x:.1f}" y1="{y_low:.1f}" x2="{x:.1f}" y2="{y_high:.1f}" stroke="{colour}" '
            'stroke-width="2"></line>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{_e(name)}: '
            f"{_pct(system['accuracy'])} [{_pct(low)}, {_pct(high)}]</title></circle>"
            f'<line x1="{x + 5:.1f}" y1="{y:.1f}" x2="{column - 4:.1f}" y2="{label_y - 4:.1f}" '
            f'stroke="{colour}" stroke-width="0.5" stroke-opacity="0.6"></line>'
        )
        short = shortened(name, LABEL_CHARS)
        body.append(f'<text class="label" x="{column:.1f}" y="{label_y:.1f}" fill="{colour}">{_e(short)}'
                    f"<title>{_e(name)}</title></text>")
    return _svg(f"Accuracy against {axis}, with 95% intervals", body, LABELS, LEGEND)


def _legend(kinds: list[str]) -> list[str]:
    """The colour of each kind of system, in a row under the x axis's title."""
    parts = []
    x, y = LEFT, TOP + H + BOTTOM + 8
    for kind in kinds:
        parts.append(f'<circle cx="{x + 5}" cy="{y}" r="5" fill="{_COLOURS[kind]}"></circle>'
                     f'<text class="legend" x="{x + 14}" y="{y + 4}">{kind}</text>')
        x += 96
    return parts


def reliability_chart(calibration: dict[str, Any]) -> str:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    body = _axes("final confidence", "share right")
    bottom = TOP + H
    diagonal = f'x1="{LEFT}" y1="{bottom}" x2="{LEFT + W}" y2="{TOP}"'
    body.append(f'<line {diagonal} stroke="#999" stroke-dasharray="4 4"></line>')
    bins = calibration["bins"]
    width = W / max(1, len(bins))
    for number, b in enumerate(bins):
        x = LEFT + number * width
        if number % 2 == 0 or number == len(bins) - 1:
            body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{b["low"]:g}</text>')
        if not b["count"]:
            continue
        height = b["accuracy"] * H
        body.append(
            f'<rect x="{x + 2:.1f}" y="{bottom - height:.1f}" width="{width - 4:.1f}" height="{height:.1f}" '
            f'fill="#1565c0" fill-opacity="0.6"><title>{b["low"]:g}-{b["high"]:g}: {plural(b["count"], "item")}, '
            f'right {_pct(b["accuracy"])}, mean confidence {b["confidence"]:.2f}</title></rect>'
        )
    body.append(f'<text x="{LEFT + W}" y="{bottom + 16}" text-anchor="end">1</text>')
    return _svg("Reliability diagram: share right per confidence bin", body)


def _systems_table(systems: list[dict[str, Any]], consortiums: int) -> str:
    head = "".join(f"<th>{h}</th>" for h in HEADINGS)
    rows = [
        f"<tr><td>{_e(label(s, consortiums))}</td>" + "".join(f'<td class="n">{_e(c)}</td>' for c in cells(s)) + "</tr>"
        for s in systems
    ]
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(rows)}</table></div><p>{_e(LATENCY_NOTE)}</p>'


def _comparisons(report: dict[str, Any]) -> str:
    """The paired comparisons as a forest plot, with how to read it."""
    if not report["comparisons"]:
        return "<p>Nothing to compare.</p>"
    names = {s["key"]: f"{s['kind']} {s['name']}" for s in report["systems"]}
    return (
        "<p>Each row is one pair of systems on the same items: the dot is the difference in accuracy "
        "(a - b, in points), the bar its 95% interval. A bar that crosses the dashed zero line is a "
        "difference these items do not establish.</p>" + forest_plot(report["comparisons"], names)
    )


def _consortium(system: dict[str, Any], items: dict[int, dict[str, Any]], report: dict[str, Any]) -> list[str]:
    """A consortium's calibration and answer flips."""
    flips, calibration = system["flips"], system["calibration"]
    ece = "n/a" if calibration["ece"] is None else f"{calibration['ece']:.3f}"
    rounds = ", ".join(f"round {k}: {v}" for k, v in system["final_rounds"].items()) or "none"
    return [
        f"<h2>Calibration of {_e(system['name'])}</h2>",
        f"<p>Expected calibration error {ece} over {plural(calibration['items'], 'item')} with a final "
        "confidence.</p>",
        reliability_chart(calibration),
        f"<h2>Answer flips between rounds of {_e(system['name'])}</h2>",
        f"<p>{flips['right_to_wrong']} right to wrong, {flips['wrong_to_right']} wrong to right. "
        f"Final answers came from {_e(rounds)}.</p>",
        _flipped(report, items, system["key"]),
        *_fell_back(system, items, report),
    ]


def _fell_back(system: dict[str, Any], items: dict[int, dict[str, Any]], report: dict[str, Any]) -> list[str]:
    """The items on which the consortium's arbiter failed and the answer fell back,
    each with its rounds, what was kept and the arbiter's error."""
    said = fallback_text(system["arbiter_fallbacks"], system["total"])
    if not said:
        return []
    rows = []
    for row in report["results"]:
        if row["system"] != system["key"] or not row.get("arbiter_fallbacks"):
            continue
        item = items.get(row["item"], {})
        rounds = "".join(
            f"<pre>round {_e(f['round'])}: kept the {_e(KEPT.get(f['kept'], f['kept']))}; {_e(f['error'])}</pre>"
            for f in row["arbiter_fallbacks"]
        )
        rows.append(f"<tr><td>line {_e(row['line'])}</td><td><pre>{_e(item.get('prompt'))}</pre></td>"
                    f"<td>{rounds}</td></tr>")
    head = "<tr><th>item</th><th>prompt</th><th>rounds that fell back</th></tr>"
    return [f"<h2>Arbiter failures of {_e(system['name'])}</h2>", f'<p class="verdict">{_e(said)}.</p>',
            f'<div class="scroll"><table class="wide">{head}{"".join(rows)}</table></div>']



def _disagreements(report: dict[str, Any], items: dict[int, dict[str, Any]]) -> str:
    chosen = disagreements(report)
    if not chosen:
        return "<p>Every system was right, or every system was wrong, on every item.</p>"
    systems = [(s["kind"], s["name"]) for s in report["systems"]]
    consortiums = len(report["consortiums"])
    head = "<th>item</th><th>prompt</th><th>expected</th>" + "".join(
        f"<th>{_e(label(s, consortiums))}</th>" for s in report["systems"]
    )
    rows = []
    results = {(r["item"], r["kind"], r["name"]): r for r in report["results"]}
    for index in chosen:
        item = items.get(index, {})
        cells = [f"<td>line {_e(item.get('line'))}</td>", f"<td><pre>{_e(item.get('prompt'))}</pre></td>",
                 f"<td><pre>{_e(item.get('expected'))}</pre></td>"]
        for kind, name in systems:
            row = results.get((index, kind, name))
            if row is None:
                cells.append("<td></td>")
                continue
            css = "right" if row.get("correct") else "wrong"
            mark = "right" if row.get("correct") else "wrong"
            text = row.get("answer") if not row.get("error") else f"failed: {row['error']}"
            fell = len(row.get("arbiter_fallbacks") or [])
            note = f" (arbiter failed, fell back in {plural(fell, 'round')})" if fell else ""
            cells.append(f'<td class="{css}"><b>{mark}</b>{_e(note)}<pre>{_e(text)}</pre></td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    # a wide table scrolls inside its own box, never the page
    return f'<div class="scroll"><table class="wide"><tr>{head}</tr>{"".join(rows)}</table></div>'


def _flipped(report: dict[str, Any], items: dict[int, dict[str, Any]], key: str) -> str:
    """The consortium's items whose round answers changed from right to wrong or back."""
    lines = []
    for row in report["results"]:
        marks = [r for r in row.get("rounds") or [] if r.get("correct") is not None]
        if row["system"] != key or len({r["correct"] for r in marks}) < 2:
            continue
        steps = " then ".join(
            f"round {r['round']}: {'right' if r['correct'] else 'wrong'}" for r in marks
        )
        answers = "".join(f"<pre>round {r['round']}: {_e(r['answer'])}</pre>" for r in marks)
        item = items.get(row["item"], {})
        lines.append(
            f"<tr><td>line {_e(item.get('line'))}</td><td><pre>{_e(item.get('prompt'))}</pre></td>"
            f"<td><pre>{_e(item.get('expected'))}</pre></td><td>{_e(steps)}{answers}</td></tr>"
        )
    if not lines:
        return ""
    head = "<tr><th>item</th><th>prompt</th><th>expected</th><th>rounds</th></tr>"
    return f'<div class="scroll"><table class="wide">{head}{"".join(lines)}</table></div>'


def render(report: dict[str, Any], items: Sequence[dict[str, Any]]) -> str:
    """The page; `items` are the evaluated items (index, line, prompt, expected)."""
    by_index = {item["index"]: item for item in items}
    verdict = report["verdict"]["line"] or "No verdict: nothing to compare the consortium with."
    title = ", ".join(report["consortiums"])
    parts = [
        f"<h1>Eval of {_e(title)}</h1>",
        f'<p class="meta">{_e(report["dataset"])}: {plural(report["items"], "item")}, '
        f'scorer {_e(report["scorer"])}</p>',
        *(f'<p class="verdict">{_e(line)}</p>' for line in verdict.splitlines()),
        "<h2>Systems</h2>", _systems_table(report["systems"], len(report["consortiums"])),
        "<h2>Paired comparisons</h2>", _comparisons(report),
        "<h2>Accuracy against spend</h2>", accuracy_chart(report["systems"], len(report["consortiums"])),
    ]
    for system in report["systems"]:
        if system["kind"] == "consortium":
            parts += _consortium(system, by_index, report)
    parts += ["<h2>Items where the systems disagree</h2>", _disagreements(report, by_index)]
    return document(f"Eval of {title}", "\n".join(parts), _CSS)

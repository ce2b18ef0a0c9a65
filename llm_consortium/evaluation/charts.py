"""The eval page's SVG pieces that need more than drawing: where point labels go so
they never overlap, and the forest plot of the paired comparisons.

Plain functions returning SVG text (inline, no script), so the page opens offline;
names are untrusted and escaped here.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..text.cuts import shortened

LABEL_HEIGHT = 14.0  # px between two labels' baselines: one 12px line and a gap
LABEL_CHARS = 34  # a forest plot row's name longer than this is cut to fit left of the plot


def place_labels(wanted: list[float], top: float, bottom: float, gap: float = LABEL_HEIGHT) -> list[float]:
    """Vertical positions (text baselines) for labels that want to sit at `wanted`,
    at least `gap` apart and inside [top + gap, bottom], in the input's order.

    Deterministic and order-independent: labels are ranked by the position they want
    (ties by input order), pushed down where they would collide, then pushed back up
    from the bottom if the last one fell off. When they cannot all fit, they are
    spread evenly over the whole height.
    """
    if not wanted:
        return []
    ranked = sorted(range(len(wanted)), key=lambda i: (wanted[i], i))
    room = bottom - (top + gap)
    if gap * (len(wanted) - 1) > room:
        step = room / max(1, len(wanted) - 1)
        spread = [top + gap + step * rank for rank in range(len(wanted))]
        return [spread[ranked.index(i)] for i in range(len(wanted))]
    placed: list[float] = []
    for i in ranked:
        y = max(wanted[i], top + gap, placed[-1] + gap if placed else top + gap)
        placed.append(y)
    placed[-1] = min(placed[-1], bottom)
    for rank in range(len(placed) - 2, -1, -1):
        placed[rank] = min(placed[rank], placed[rank + 1] - gap)
    out = [0.0] * len(wanted)
    for rank, i in enumerate(ranked):
        out[i] = placed[rank]
    return out


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _scale(comparisons: list[dict[str, Any]]) -> float:
    """The axis reaches the widest interval, rounded up to a tenth (at most 1)."""
    widest = max((abs(v) for c in comparisons for v in c["ci95"]), default=0.1)
    return min(1.0, max(0.1, -(-round(widest * 1000) // 100) / 10))


def forest_plot(comparisons: list[dict[str, Any]], names: dict[str, str]) -> str:
    """Each comparison's accuracy difference (a - b, in points) as a dot with its 95%
    interval as a bar, one row per pair, and the zero line: a bar that crosses zero
    is a difference the items do not establish."""
    row, left, width, right, top = 28, 260, 420, 230, 24
    height = top + row * len(comparisons) + 36
    scale = _scale(comparisons)

    def x(value: float) -> float:
        return left + (value + scale) / (2 * scale) * width

    parts = [
        f'<line x1="{x(0):.1f}" y1="{top - 8}" x2="{x(0):.1f}" y2="{height - 30}" stroke="#333" '
        'stroke-dasharray="4 3"></line>'
    ]
    for tick in (-scale, -scale / 2, 0.0, scale / 2, scale):
        text = _points(tick) if tick else "0"
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 14}" text-anchor="middle">{text}</text>')
    for number, c in enumerate(comparisons):
        y = top + row * number + row / 2
        low, high = c["ci95"]
        colour = "#2e7d32" if c["result"] == "better" else "#c62828" if c["result"] == "worse" else "#555"
        label = f"{names.get(c['a'], c['a'])} - {names.get(c['b'], c['b'])}"
        shown = shortened(label, LABEL_CHARS)  # whole in the title
        figures = f"{_points(c['difference'] or 0.0)} [{_points(low)}, {_points(high)}] p={c['p_value']:.3g}"
        parts.append(
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">{_e(shown)}<title>{_e(label)}</title></text>'
            f'<line x1="{x(low):.1f}" y1="{y:.1f}" x2="{x(high):.1f}" y2="{y:.1f}" stroke="{colour}" '
            'stroke-width="2"></line>'
            f'<circle cx="{x(c["difference"] or 0.0):.1f}" cy="{y:.1f}" r="5" fill="{colour}">'
            f"<title>{_e(label)}: {_e(figures)}</title></circle>"
            f'<text x="{left + width + 10}" y="{y + 4:.1f}">{_e(figures)}</text>'
        )
    total = left + width + right
    return (
        f'<svg role="img" width="{total}" height="{height}" viewBox="0 0 {total} {height}">'
        "<title>Paired differences in accuracy (points, a - b) with 95% intervals</title>"
        + "".join(parts) + "</svg>"
    )

"""The paired statistics of an eval, checked against values computed here from their
definitions (not through the module's own helpers), and the chart pieces that must
be exact: label placement and the forest plot."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from llm_consortium.evaluation import charts, paired_verdict, stats

Z = 1.959963984540054


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    """The roots in p of (x/n - p)^2 = z^2 p (1 - p) / n: the score interval's definition."""
    a = 1 + Z * Z / n
    b = -(2 * x / n + Z * Z / n)
    c = (x / n) ** 2
    root = math.sqrt(b * b - 4 * a * c)
    return ((-b - root) / (2 * a), (-b + root) / (2 * a))


def newcombe_by_hand(e: int, f: int, g: int, h: int) -> tuple[float, float]:
    """Newcombe 1998 (paired), method 10, from the paper's definitions: e both right,
    f only the first, g only the second, h neither."""
    n = e + f + g + h
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson_by_hand(e + f, n)
    l2, u2 = wilson_by_hand(e + g, n)
    ad_bc = e * h - f * g
    corrected = max(ad_bc - n / 2, 0) if ad_bc > 0 else ad_bc
    phi = corrected / math.sqrt((e + f) * (g + h) * (e + g) * (f + h))
    d = p1 - p2
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    epsilon = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return (d - delta, d + epsilon)


def marks(both, a_only, b_only, neither):
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return a, b


@pytest.mark.parametrize("cells", [(12, 9, 2, 21), (70, 30, 14, 86), (5, 0, 0, 5), (3, 4, 1, 2), (40, 1, 9, 0)])
def test_newcombe_interval_matches_its_definition(cells):
    pair = stats.paired(*marks(*cells))
    assert (pair.both, pair.a_only, pair.b_only, pair.neither) == cells
    assert pair.ci95 == pytest.approx(newcombe_by_hand(*cells), abs=1e-12)


def test_newcombe_interval_agrees_with_a_paired_bootstrap():
    """An independent check of the method: 200 items, 70% against 62%, most
    disagreements one way (the issue's example). A percentile bootstrap over items
    lands within a point of Newcombe's limits, and both exclude zero."""
    a, b = marks(110, 30, 14, 46)
    low, high = stats.paired(a, b).ci95
    rng = random.Random(7)
    diffs = []
    for _ in range(4000):
        picks = [rng.randrange(200) for _ in range(200)]
        diffs.append(sum(a[i] for i in picks) / 200 - sum(b[i] for i in picks) / 200)
    diffs.sort()
    assert low == pytest.approx(diffs[100], abs=0.01) and high == pytest.approx(diffs[3899], abs=0.01)
    assert low > 0


def test_mcnemar_exact_p_values():
    # 2 * sum_{k<=min} C(n, k) / 2^n, in exact fractions
    def by_hand(b, c):
        n = b + c
        return min(Fraction(1), 2 * sum(Fraction(math.comb(n, k), 2**n) for k in range(min(b, c) + 1)))

    for b, c in [(30, 14), (9, 2), (0, 1), (1, 0), (5, 5), (0, 7), (12, 0), (100, 80)]:
        assert stats.mcnemar_exact(b, c) == float(by_hand(b, c))
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(9, 2) == pytest.approx(0.06542969, abs=1e-8)  # 2 * 67 / 2048
    assert stats.mcnemar_exact(0, 7) == 2 / 128


def test_items_needed_is_connors_sample_size():
    pair = stats.paired(*marks(110, 30, 14, 46))
    pd, d = 44 / 200, 16 / 200
    expected = math.ceil(((1.959964 * math.sqrt(pd) + 0.841621 * math.sqrt(pd - d * d)) / d) ** 2)
    assert stats.items_needed(pair) == expected == 268
    assert stats.items_needed(stats.paired(*marks(5, 2, 2, 1))) is None


def test_result_words_follow_the_test_and_the_interval():
    assert paired_verdict.result(stats.paired(*marks(110, 30, 14, 46))) == "better"  # p = 0.023
    assert paired_verdict.result(stats.paired(*marks(110, 14, 30, 46))) == "worse"
    assert paired_verdict.result(stats.paired(*marks(10, 3, 1, 6))) == "not enough items to tell"
    assert paired_verdict.result(stats.paired(*marks(10, 2, 2, 6))) == "no difference seen"


# ------------------------------------------------------------------ label placement


def test_labels_never_overlap_and_stay_in_the_chart():
    rng = random.Random(3)
    for count in range(1, 22):
        wanted = [rng.choice([30.0, 150.0, 150.0, 290.0, 5.0, 400.0]) for _ in range(count)]
        placed = charts.place_labels(wanted, top=16, bottom=316)
        ordered = sorted(placed)
        assert all(b - a >= charts.LABEL_HEIGHT - 1e-9 for a, b in itertools.pairwise(ordered))
        assert all(16 + charts.LABEL_HEIGHT - 1e-9 <= y <= 316 + 1e-9 for y in placed)
        # deterministic: the same input, the same places
        assert charts.place_labels(wanted, top=16, bottom=316) == placed


def test_labels_that_do_not_collide_stay_where_they_want():
    assert charts.place_labels([100.0, 200.0, 50.0], top=0, bottom=300) == [100.0, 200.0, 50.0]
    # three at the same height: pushed down in input order, 14 px apart
    assert charts.place_labels([100.0, 100.0, 100.0], top=0, bottom=300) == [100.0, 114.0, 128.0]
    # at the bottom edge: pushed back up
    assert charts.place_labels([300.0, 300.0], top=0, bottom=300) == [286.0, 300.0]


def test_forest_plot_draws_each_pair_and_the_zero_line():
    found = [
        {"a": "consortium:x", "b": "member:m", "difference": 0.08, "ci95": [0.011, 0.149], "p_value": 0.023,
         "result": "better"},
        {"a": "consortium:x", "b": "consortium:<y>", "difference": -0.05, "ci95": [-0.2, 0.1], "p_value": 0.5,
         "result": "not enough items to tell"},
    ]
    svg = charts.forest_plot(found, {"consortium:x": "x", "member:m": "m", "consortium:<y>": "<y>"})
    assert svg.count("<circle") == 2 and "stroke-dasharray" in svg
    assert "x - &lt;y&gt;" in svg and "<y>" not in svg
    assert "+8.0 [+1.1, +14.9] p=0.023" in svg
    # the axis reaches the widest limit rounded up to a tenth: -20 to +20 points, zero in the middle
    assert '<text x="260.0" y="102" text-anchor="middle">-20.0</text>' in svg
    assert '<line x1="470.0"' in svg
    assert '<text x="470.0" y="102" text-anchor="middle">0</text>' in svg


def test_accuracy_chart_labels_do_not_overlap_when_points_coincide():
    """Five systems at the same accuracy and the same spend (a plugin without usage,
    one call each): every label gets its own line, 14 px apart."""
    import re

    from llm_consortium.evaluation import report_html

    systems = [
        {"kind": kind, "name": f"model-{n}", "accuracy": 0.5, "ci95": [0.2, 0.8], "cost": None,
         "input_tokens": None, "output_tokens": None, "calls": 40}
        for n, kind in enumerate(["consortium", "member", "member", "member", "baseline"])
    ]
    assert report_html.spend_axis(systems) == ("calls", [40.0] * 5)
    svg = report_html.accuracy_chart(systems)
    ys = sorted(float(y) for y in re.findall(r'<text class="label" x="[^"]+" y="([^"]+)"', svg))
    assert len(ys) == 5
    assert all(b - a >= charts.LABEL_HEIGHT - 0.05 for a, b in itertools.pairwise(ys))
    assert "Accuracy against calls" in svg

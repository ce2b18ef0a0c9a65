"""The statistics of an eval: Wilson intervals, percentiles, calibration and the
verdict that compares two systems by their intervals.

Pure functions on plain numbers, so every figure in a report can be checked by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""

BINS = 10


def wilson(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `correct` successes in `total` trials.

    Why Wilson: unlike the textbook p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and
    does not collapse to a zero-width interval at 0/n or n/n, which small evals hit
    all the time. With no trials nothing is known: (0, 1).
    """
    if total <= 0:
        return (0.0, 1.0)
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if correct <= 0 else max(0.0, centre - half)  # exact ends, not 5e-17
    high = 1.0 if correct >= total else min(1.0, centre + half)
    return (low, high)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p% of the values
    at or below it (always one of the values). None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Bin:
    """Confidences in [low, high) (the last bin includes 1.0), how many items fell
    in it, their mean confidence and the share of them that were right."""

    low: float
    high: float
    count: int
    confidence: float | None
    accuracy: float | None


def calibration(pairs: Sequence[tuple[float, bool]], bins: int = BINS) -> tuple[float | None, list[Bin]]:
    """Expected calibration error over `bins` equal-width bins, and the bins.

    ECE = sum over bins of (items in bin / all items) * |accuracy - mean confidence|:
    0 when a consortium that says 0.8 is right 80% of the time. None with no items.
    Confidences outside [0, 1] are clamped.
    """
    members: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, correct in pairs:
        confidence = min(1.0, max(0.0, confidence))
        members[min(bins - 1, int(confidence * bins))].append((confidence, correct))
    result = []
    ece = 0.0
    for number, inside in enumerate(members):
        low, high = number / bins, (number + 1) / bins
        if not inside:
            result.append(Bin(low, high, 0, None, None))
            continue
        confidence = sum(c for c, _ in inside) / len(inside)
        accuracy = sum(1 for _, ok in inside if ok) / len(inside)
        ece += len(inside) / len(pairs) * abs(accuracy - confidence)
        result.append(Bin(low, high, len(inside), confidence, accuracy))
    return (ece if pairs else None), result


def compare(ours: tuple[float, float], theirs: tuple[float, float]) -> str:
    """"better" when our interval lies wholly above theirs, "worse" when wholly below,
    else "no better": overlapping intervals do not show a difference."""
    if ours[0] > theirs[1]:
        return "better"
    if ours[1] < theirs[0]:
        return "worse"
    return "no better"

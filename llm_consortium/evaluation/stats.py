"""The statistics of an eval: Wilson intervals, percentiles, calibration, and the
paired comparison of two systems graded on the same items (Newcombe's interval for
the difference, the exact McNemar test, a rough count of the items needed).

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


Z80_POWER = 0.8416212335729143
"""The one-sided 80% quantile of the standard normal: the power asked of `items_needed`."""

SIGNIFICANCE = 0.05
"""The level a paired difference must reach to be called better or worse."""


@dataclass(frozen=True)
class Paired:
    """Two systems graded on the same items: how many each alone got right (the
    discordant pairs), the accuracy difference a - b, its 95% interval and the exact
    McNemar p-value."""

    items: int
    both: int
    a_only: int
    b_only: int
    neither: int

    @property
    def difference(self) -> float | None:
        return (self.a_only - self.b_only) / self.items if self.items else None

    @property
    def ci95(self) -> tuple[float, float]:
        return newcombe_paired(self.both, self.a_only, self.b_only, self.neither)

    @property
    def p_value(self) -> float:
        return mcnemar_exact(self.a_only, self.b_only)


def paired(a: Sequence[bool], b: Sequence[bool]) -> Paired:
    """Count the four kinds of item for two systems' marks on the same items."""
    if len(a) != len(b):
        raise ValueError("paired marks need the same items")
    both = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    a_only = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    return Paired(len(a), both, a_only, b_only, len(a) - both - a_only - b_only)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """The two-sided exact McNemar p-value: under "no difference" each discordant item
    is a fair coin, so the smaller count is Binomial(a_only + b_only, 1/2); the
    p-value doubles its tail (capped at 1). Computed in integers, so it is exact
    up to the final division. No discordant items: 1."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1))
    return min(1.0, 2 * tail / 2**n)


def newcombe_paired(both: int, a_only: int, b_only: int, neither: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's (1998, paired data, method 10) interval for p_a - p_b.

    Why this one: it is closed-form (no resampling, no seed: the same results give
    the same interval), built from the Wilson intervals already used per system, stays
    inside [-1, 1], and keeps a sensible width with few or no discordant items, where
    the Wald interval collapses to a point. The correlation phi of the two systems'
    marks gets Newcombe's correction: when ad > bc its numerator is max(ad - bc - n/2, 0).
    """
    n = both + a_only + b_only + neither
    if n == 0:
        return (-1.0, 1.0)
    right_a, right_b = both + a_only, both + b_only
    p1, p2 = right_a / n, right_b / n
    l1, u1 = wilson(right_a, n, z)
    l2, u2 = wilson(right_b, n, z)
    denominator = right_a * (n - right_a) * right_b * (n - right_b)
    numerator: float = both * neither - a_only * b_only
    if numerator > 0:
        numerator = max(numerator - n / 2, 0.0)
    phi = numerator / math.sqrt(denominator) if denominator else 0.0
    d = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    epsilon = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, d - delta), min(1.0, d + epsilon))


def fewest_discordant(level: float = SIGNIFICANCE) -> int:
    """The fewest discordant items with which the exact McNemar test can reach `level`
    at all: every one of them going the same way (5 vs 0 gives p = 0.0625, 6 vs 0
    gives 0.031, so 6 at the 5% level)."""
    n = 1
    while mcnemar_exact(n, 0) >= level:
        n += 1
    return n


def items_needed(pair: Paired, z: float = Z95, power: float = Z80_POWER) -> int | None:
    """Roughly how many items would show the observed difference at the 5% level
    with 80% power, if the share of discordant items and the difference stayed as
    observed (Connor's 1987 sample size for McNemar's test). None when there is no
    difference to show.

    Connor's formula is a normal approximation, which with few items asks for fewer
    than the exact test can ever use; so the count is never below the items that
    hold, at the observed discordant share, the fewest discordant items the exact
    test needs (`fewest_discordant`), nor below one more than the items already run
    when those did not show the difference."""
    if not pair.items or pair.a_only == pair.b_only:
        return None
    discordant = (pair.a_only + pair.b_only) / pair.items
    difference = abs(pair.a_only - pair.b_only) / pair.items
    root = z * math.sqrt(discordant) + power * math.sqrt(max(0.0, discordant - difference**2))
    connor = math.ceil((root / difference) ** 2)
    exact = math.ceil(fewest_discordant() * pair.items / (pair.a_only + pair.b_only))
    shown = pair.p_value < SIGNIFICANCE
    return max(connor, exact, pair.items if shown else pair.items + 1)

"""When answers agree enough to spend no more: the rules behind the arbiter skip,
tier escalation and waves (docs/savings.md).

Pure functions of figures the vote's grouping already gives (each group's size and
the winner's share, from `format.tally`), so whatever decides that two answers are
"the same" decides it here too, and the rules are tested without any model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def unanimous(group_sizes: Sequence[int]) -> bool:
    """Every member that answered said the same thing, and at least two answered:
    one answer alone is no agreement, so it still goes to the arbiter."""
    return len(group_sizes) == 1 and group_sizes[0] >= 2


def escalation(
    share: float,
    agreement: float,
    confidence: float | None = None,
    threshold: float | None = None,
) -> str | None:
    """Why the next tier must be asked, or None when this tier's answers suffice.

    Asked when the largest group's share is below the agreement level, or, when an
    arbiter judged this tier's answers, when its confidence is below the threshold
    (unknown confidence counts as below)."""
    if share < agreement:
        return f"the largest group holds {share:.0%} of the answers, below the {agreement:.0%} agreement level"
    if threshold is not None and (confidence is None or confidence < threshold):
        shown = "unknown" if confidence is None else f"{confidence:.2f}"
        return f"the arbiter's confidence ({shown}) is below the threshold {threshold:.2f}"
    return None


def _needed(total: int, threshold: float) -> int:
    """How many of `total` members must agree for their share of all to reach `threshold`."""
    return math.ceil(round(threshold * total, 9))


def first_wave(total: int, threshold: float = 0.0) -> int:
    """How many of `total` members to call first: the fewest whose agreement alone
    is a majority of all and reaches `threshold` as a share of all (the confidence
    the whole group would report, docs/confidence.md), so the vote can be over
    without the others."""
    if total <= 2:
        return total
    return min(total, max(total // 2 + 1, _needed(total, threshold)))


def decided(group_sizes: Sequence[int], uncalled: int, threshold: float = 0.0) -> bool:
    """Whether the members not called yet could no longer change the vote: the
    leading group is ahead of the next by more than they could add to it, and it
    already holds `threshold` of all the members (called or not), so calling the
    rest could neither change the winner nor decide whether the round is sure enough."""
    if not group_sizes:
        return False
    ordered = sorted(group_sizes, reverse=True)
    runner_up = ordered[1] if len(ordered) > 1 else 0
    total = sum(ordered) + uncalled
    return ordered[0] - runner_up > uncalled and ordered[0] >= _needed(total, threshold)

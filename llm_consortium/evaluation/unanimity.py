"""How often a system's vote was unanimous: every answering member in one group.

A unanimous vote is what the arbiter skip (`skip_arbiter_on_agreement`) and the
trace's confidence rest on, so eval reports it per system beside accuracy. Only
runs that voted count (an arbiter's run or a single call has no vote).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def unanimous(trace: dict[str, Any]) -> bool | None:
    """Whether the run's last vote put every answer in one group; None when no
    round of the run voted."""
    votes = [record["vote"] for record in trace.get("rounds", []) if isinstance(record.get("vote"), dict)]
    if not votes or "share" not in votes[-1]:
        return None
    return bool(votes[-1]["share"] == 1.0)


def unanimity(rows: Sequence[dict[str, Any]]) -> float | None:
    """The share of a system's voted results that were unanimous; None when none voted."""
    voted = [row["unanimous"] for row in rows if row.get("unanimous") is not None]
    return sum(voted) / len(voted) if voted else None

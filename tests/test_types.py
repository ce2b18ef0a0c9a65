"""Settings are checked when made: a value out of range is a ValueError naming the
field, never a failure deep inside a run (an impossible min_members would otherwise
surface as a bare StopIteration far from its cause)."""

from __future__ import annotations

import pytest

from llm_consortium.types import Settings


@pytest.mark.parametrize(
    "bad, named",
    [
        ({"min_members": 0}, "min_members"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"min_iterations": 4, "max_iterations": 3}, "min_iterations"),
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"strategy": "dice"}, "strategy"),
    ],
)
def test_settings_out_of_range_are_refused_naming_the_field(bad, named):
    with pytest.raises(ValueError, match=named):
        Settings(**bad)

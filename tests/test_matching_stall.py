"""No reply can stall a vote: every shape bench/matching_stall.py times (an equation
line of thousands of numbers, "Answer: a" and a run of spaces, nothing but
numbers, random text…) is grouped at 100 KB and 1 MB within a generous hard
timeout. The timings themselves live in the bench (docs/matching.md); this guard
only fails when grouping grows with the square of a reply's length again (the
shapes took seconds to minutes at 20-100 KB before)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"

GROUP_EVERY_SHAPE = f"""
import sys
sys.path.insert(0, {str(BENCH)!r})
import matching_stall
for name, make in matching_stall.shapes().items():
    for size in (100_000, 1_000_000):
        matching_stall.one_grouping(make(size))
print("grouped")
"""


def test_every_stall_shape_is_grouped_at_a_megabyte():
    done = subprocess.run(
        [sys.executable, "-c", GROUP_EVERY_SHAPE], capture_output=True, text=True, timeout=180, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "grouped"), done.stderr[-2000:]

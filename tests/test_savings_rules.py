"""The rules that decide when a round spends no more: unanimity skips the arbiter,
disagreement or an unsure arbiter escalates to the next tier, a first wave that
already decides the vote saves the rest."""

from __future__ import annotations

import pytest

from llm_consortium.judging import agreement


@pytest.mark.parametrize("sizes, expected", [([3], True), ([2], True), ([1], False), ([2, 1], False), ([], False)])
def test_unanimous_needs_one_group_of_at_least_two(sizes, expected):
    assert agreement.unanimous(sizes) is expected


def test_escalation_by_share():
    assert agreement.escalation(1.0, 1.0) is None
    reason = agreement.escalation(2 / 3, 1.0)
    assert reason is not None and "67%" in reason and "100%" in reason
    assert agreement.escalation(2 / 3, 0.6) is None


def test_escalation_by_the_arbiters_confidence():
    assert agreement.escalation(1.0, 0.5, confidence=0.9, threshold=0.8) is None
    assert "0.60" in (agreement.escalation(1.0, 0.5, confidence=0.6, threshold=0.8) or "")
    assert "unknown" in (agreement.escalation(1.0, 0.5, confidence=None, threshold=0.8) or "")


@pytest.mark.parametrize("total, wave", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_the_first_wave_is_the_smallest_majority(total, wave):
    assert agreement.first_wave(total) == wave


@pytest.mark.parametrize(
    "sizes, uncalled, expected",
    [([2], 1, True), ([1, 1], 1, False), ([3], 2, True), ([2, 1], 2, False), ([3], 3, False), ([], 0, False)],
)
def test_a_wave_decides_when_the_rest_cannot_change_the_winner(sizes, uncalled, expected):
    assert agreement.decided(sizes, uncalled) is expected

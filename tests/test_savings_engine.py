"""The engine's spending rules with scripted members: the arbiter skip on agreement,
tier escalation by share and by confidence, waves, and the budget stop before and
between rounds. Each test counts the calls every participant received."""

from __future__ import annotations

import dataclasses

import pytest

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call, Participant

from helpers import Scripted, settings, verdict

pytestmark = pytest.mark.asyncio


def tiered(scripted: Scripted, tier: int, instance: int = 1) -> Participant:
    return dataclasses.replace(scripted.participant(instance), tier=tier)


def judge(*steps: str) -> Scripted:
    return Scripted("judge", *steps, tokens=(100, 20))


# ------------------------------------------------------------------ agreement


async def test_unanimous_members_skip_the_arbiter_and_the_trace_says_why():
    members = [Scripted(f"m{i}", "Paris") for i in range(3)]
    arbiter = judge(verdict("Judged", 0.9))
    result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings())
    assert result.text == "Paris" and result.confidence == 1.0
    assert arbiter.calls == []
    assert result.rounds[0]["arbiter_skipped"] == "all 3 answers agree"
    assert result.usage["calls_saved"] == {"agreement": 1}


async def test_the_skip_turned_off_one_answer_or_disagreement_still_calls_the_arbiter():
    cases = [
        (["Paris", "Paris"], settings(skip_arbiter_on_agreement=False)),
        (["Paris"], settings()),
        (["Paris", "Lyon"], settings()),
    ]
    for answers, chosen in cases:
        arbiter = judge(verdict("Judged", 0.9))
        members = [Scripted(f"m{i}", a).participant() for i, a in enumerate(answers)]
        result = await run(Call("q"), members, arbiter.participant(), chosen)
        assert result.text == "Judged" and len(arbiter.calls) == 1
        assert "arbiter_skipped" not in result.rounds[0] and "calls_saved" not in result.usage


async def test_min_iterations_still_runs_every_round_when_members_agree():
    members = [Scripted(f"m{i}", "Paris") for i in range(2)]
    arbiter = judge(verdict("Judged", 0.9))
    result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(),
                       settings(min_iterations=2, max_iterations=3))
    assert len(result.rounds) == 2 and all(len(m.calls) == 2 for m in members)
    assert arbiter.calls == [] and result.usage["calls_saved"] == {"agreement": 2}


# ------------------------------------------------------------------ tiers


async def test_an_agreeing_first_tier_never_calls_the_next():
    cheap = [Scripted("cheap", "Paris"), Scripted("cheap", "Paris")]
    strong = Scripted("strong", "Paris")
    arbiter = judge(verdict("Judged", 0.9))
    members = [tiered(cheap[0], 1), tiered(cheap[1], 1, 2), tiered(strong, 2)]
    result = await run(Call("q"), members, arbiter.participant(), settings())
    assert result.text == "Paris" and strong.calls == [] and arbiter.calls == []
    assert result.usage["calls_saved"] == {"agreement": 1, "tiers": 1}
    assert [t["tier"] for t in result.rounds[0]["tiers"]] == [1]


async def test_a_disagreeing_tier_escalates_before_any_arbiter_which_then_sees_every_answer():
    cheap1, cheap2, strong = Scripted("c1", "Paris"), Scripted("c2", "Lyon"), Scripted("strong", "Paris")
    arbiter = judge(verdict("Paris, judged", 0.9))
    members = [tiered(cheap1, 1), tiered(cheap2, 1), tiered(strong, 2)]
    result = await run(Call("q"), members, arbiter.participant(), settings())
    assert len(strong.calls) == 1 and len(arbiter.calls) == 1
    assert set(result.rounds[0]["labels"].values()) == {"c1", "c2", "strong"}  # every answer gathered
    first = result.rounds[0]["tiers"][0]
    assert "50%" in first["escalated"] and "arbiter" not in first
    assert result.text == "Paris, judged"


async def test_enough_agreement_but_an_unsure_arbiter_escalates_by_confidence():
    cheap = [Scripted("c1", "Paris"), Scripted("c2", "Paris"), Scripted("c3", "Lyon")]
    strong = Scripted("strong", "Paris")
    arbiter = judge(verdict("Maybe Paris", 0.4), verdict("Paris", 0.95))
    members = [*(tiered(c, 1) for c in cheap), tiered(strong, 2)]
    result = await run(Call("q"), members, arbiter.participant(), settings(agreement=0.6, max_iterations=1))
    assert len(strong.calls) == 1 and len(arbiter.calls) == 2
    tier1 = result.rounds[0]["tiers"][0]
    assert "confidence (0.40)" in tier1["escalated"] and tier1["arbiter"]["confidence"] == 0.4
    assert result.text == "Paris" and result.confidence == 0.95


async def test_a_consortium_without_tiers_behaves_as_before():
    members = [Scripted("a", "Paris"), Scripted("b", "Lyon")]
    arbiter = judge(verdict("Paris", 0.9))
    result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings())
    assert "tiers" not in result.rounds[0] and len(arbiter.calls) == 1


# ------------------------------------------------------------------ waves


async def test_a_first_wave_that_decides_the_vote_saves_the_rest():
    # 4 of 5 is the fewest whose agreement reaches the 0.7 threshold as a share of all 5.
    members = [Scripted(f"m{i}", "Paris") for i in range(5)]
    result = await run(Call("q"), [m.participant() for m in members], None, settings(waves=True))
    assert [len(m.calls) for m in members] == [1, 1, 1, 1, 0]
    assert result.rounds[0]["waves"] == {"called": 4, "skipped": 1}
    assert result.usage["calls_saved"] == {"waves": 1}
    assert result.confidence == pytest.approx(4 / 5)  # the member not called counts against it


async def test_a_split_first_wave_calls_the_rest():
    members = [Scripted("a", "Paris"), Scripted("b", "Lyon"), Scripted("c", "Paris")]
    chosen = settings(waves=True, max_iterations=1, confidence_threshold=0.6)
    result = await run(Call("q"), [m.participant() for m in members], None, chosen)
    assert [len(m.calls) for m in members] == [1, 1, 1] and result.text == "Paris"
    assert result.rounds[0]["waves"] == {"called": 3, "skipped": 0}


async def test_without_waves_every_member_is_called_at_once():
    members = [Scripted(f"m{i}", "Paris") for i in range(3)]
    await run(Call("q"), [m.participant() for m in members], None, settings())
    assert [len(m.calls) for m in members] == [1, 1, 1]


# ------------------------------------------------------------------ budget


async def test_a_budget_stops_before_the_next_tier_and_votes_on_what_it_has():
    cheap1, cheap2 = Scripted("c1", "Paris"), Scripted("c2", "Lyon")
    strong = Scripted("strong", "Paris")
    arbiter = judge(verdict("Judged", 0.9))
    prices = {"c1": (1.0, 1.0), "c2": (1.0, 1.0), "strong": (100.0, 100.0), "judge": (100.0, 100.0)}
    members = [tiered(cheap1, 1), tiered(cheap2, 1), tiered(strong, 2)]
    result = await run(Call("q"), members, arbiter.participant(), settings(budget_usd=0.001, prices=prices))
    assert strong.calls == [] and arbiter.calls == []
    assert result.text == "Paris" and "budget of $0.001" in (result.stopped or "")
    assert result.usage["cost_usd"] == pytest.approx(30 / 1e6)


async def test_a_zero_budget_makes_no_call():
    member = Scripted("a", "Paris")
    with pytest.raises(ConsortiumFailed, match="token budget of 0"):
        await run(Call("q"), [member.participant()], None, settings(budget_tokens=0))
    assert member.calls == []


async def test_the_cost_is_in_the_usage_only_when_every_price_is_known():
    members = [Scripted("a", "Paris"), Scripted("b", "Lyon")]
    known = await run(Call("q"), [m.participant() for m in members], None,
                      settings(prices={"a": (1.0, 2.0), "b": (1.0, 2.0)}, max_iterations=1))
    assert known.usage["cost_usd"] == pytest.approx(2 * (10 + 10) / 1e6)
    partial = await run(Call("q"), [m.participant() for m in members], None, settings(prices={"a": (1.0, 2.0)}))
    assert "cost_usd" not in partial.usage


async def test_with_an_arbiter_waves_apply_to_a_models_instances_only():
    repeated = Scripted("cheap", "Paris")
    other = Scripted("other", "Lyon")
    arbiter = judge(verdict("Paris", 0.9))
    members = [repeated.participant(1), repeated.participant(2), repeated.participant(3), other.participant()]
    result = await run(Call("q"), members, arbiter.participant(), settings(waves=True, confidence_threshold=0.6))
    assert len(repeated.calls) == 2 and len(other.calls) == 1  # cheap#3 saved; other is a group of one
    assert result.usage["calls_saved"] == {"waves": 1} and len(arbiter.calls) == 1

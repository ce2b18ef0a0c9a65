"""The engine's rules, driven by scripted members and arbiters (no llm, no network)."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call

from helpers import Scripted, settings, verdict

pytestmark = pytest.mark.asyncio


async def test_members_are_called_concurrently():
    # Each member waits until all of them have started: a sequential fan-out
    # would never get past the first, and the run would fail on the timeout.
    barrier = asyncio.Barrier(4)

    async def wait_for_all(call):
        await barrier.wait()
        return "together"

    members = [Scripted(f"m{i}", wait_for_all) for i in range(4)]
    result = await run(
        Call("q"), [m.participant() for m in members], None, settings(timeout=10)
    )
    assert result.text == "together"
    assert all(len(m.calls) == 1 for m in members)


async def test_instances_of_one_model_are_separate_calls():
    member = Scripted("same", "answer")
    arbiter = Scripted("judge", verdict("final"))
    result = await run(
        Call("q"), [member.participant(1), member.participant(2)], arbiter.participant(), settings()
    )
    assert len(member.calls) == 2
    assert [m["instance"] for m in result.rounds[0]["members"]] == [1, 2]


async def test_members_receive_history_system_and_prompt():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("final"))
    history = [("user", "earlier question"), ("assistant", "earlier answer")]
    await run(
        Call("now?", system="be brief", history=history),
        [member.participant()],
        arbiter.participant(),
        settings(),
    )
    call = member.calls[0]
    assert (call.prompt, call.system, call.history) == ("now?", "be brief", history)
    judge_call = arbiter.calls[0]
    assert judge_call.system == "be brief"
    assert "earlier question" in judge_call.prompt and "now?" in judge_call.prompt


async def test_arbiter_sees_every_answer_labelled_and_failures_marked():
    good = Scripted("model-x1", "the sky is blue")
    other = Scripted("model-y2", "the sky is azure")
    broken = Scripted("model-z3", RuntimeError("boom"))
    arbiter = Scripted("judge", verdict("blue"))
    result = await run(
        Call("colour?"),
        [good.participant(), other.participant(), broken.participant()],
        arbiter.participant(),
        settings(),
        rng=random.Random(7),
    )
    text = arbiter.calls[0].prompt
    assert "the sky is blue" in text and "the sky is azure" in text and "boom" in text
    assert "model-" not in text  # labels are neutral
    labels = result.rounds[0]["labels"]
    assert sorted(labels) == ["A", "B", "C"]
    assert sorted(labels.values()) == ["model-x1", "model-y2", "model-z3"]
    assert result.rounds[0]["members"][2]["error"] == "boom"


async def test_label_order_is_shuffled():
    members = [Scripted(f"m{i}", f"answer {i}") for i in range(6)]
    seen = set()
    for seed in range(5):
        arbiter = Scripted("judge", verdict("x"))
        result = await run(
            Call("q"), [m.participant() for m in members], arbiter.participant(), settings(),
            rng=random.Random(seed),
        )
        seen.add(tuple(result.rounds[0]["labels"].values()))
    assert len(seen) > 1


async def test_confident_first_round_stops():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("final", 0.9))
    result = await run(Call("q"), [member.participant()], arbiter.participant(), settings())
    assert (result.text, result.confidence, result.final_round) == ("final", 0.9, 1)
    assert len(result.rounds) == 1 and len(member.calls) == 1


async def test_low_confidence_refines_with_own_previous_answer_and_feedback():
    first = Scripted("first", "draft one", "improved one")
    second = Scripted("second", "draft two", "improved two")
    arbiter = Scripted(
        "judge",
        verdict("rough", 0.4, areas="check the units\ncite a source"),
        verdict("polished", 0.95),
    )
    result = await run(
        Call("q"), [first.participant(), second.participant()], arbiter.participant(), settings()
    )
    assert result.text == "polished" and result.final_round == 2
    refine = first.calls[1].prompt
    assert "draft one" in refine and "draft two" not in refine
    assert "rough" in refine and "check the units" in refine and "cite a source" in refine
    assert "draft two" in second.calls[1].prompt
    assert result.rounds[1]["answer_changed"] is True


async def test_never_more_than_max_iterations():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("meh", 0.1))
    result = await run(
        Call("q"), [member.participant()], arbiter.participant(), settings(max_iterations=2)
    )
    assert len(result.rounds) == 2 and len(arbiter.calls) == 2


async def test_min_iterations_forces_more_rounds():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("sure", 0.99))
    result = await run(
        Call("q"), [member.participant()], arbiter.participant(), settings(min_iterations=2)
    )
    assert len(result.rounds) == 2


async def test_arbiter_asking_for_another_round_gets_it():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("x", 0.9, needs_iteration=True), verdict("y", 0.9))
    result = await run(Call("q"), [member.participant()], arbiter.participant(), settings())
    assert len(result.rounds) == 2 and result.text == "y"


async def test_best_round_wins_over_a_worse_later_round():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("good", 0.6), verdict("worse", 0.3), verdict("worst", 0.2))
    result = await run(Call("q"), [member.participant()], arbiter.participant(), settings())
    assert (result.text, result.final_round, result.confidence) == ("good", 1, 0.6)


async def test_latest_round_wins_a_tie():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("one", 0.5), verdict("two", 0.5))
    result = await run(
        Call("q"), [member.participant()], arbiter.participant(), settings(max_iterations=2)
    )
    assert (result.text, result.final_round) == ("two", 2)
    assert result.rounds[1]["answer_changed"] is True


async def test_untagged_arbiter_reply_is_the_answer_with_unknown_confidence(caplog):
    member = Scripted("m", "a")
    arbiter = Scripted("judge", "Just a plain answer.")
    with caplog.at_level(logging.WARNING):
        result = await run(
            Call("q"), [member.participant()], arbiter.participant(), settings(max_iterations=3)
        )
    assert result.text == "Just a plain answer."
    assert result.confidence is None
    # More rounds cannot make an untagged arbiter's confidence known: one arbiter call,
    # one member call, not max_iterations of each (docs/confidence.md).
    assert len(result.rounds) == 1 and len(arbiter.calls) == 1 and len(member.calls) == 1
    assert sum("no <synthesis> tag" in note for note in result.notes) == 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no <synthesis> tag" in warnings[0].getMessage()  # one warning per run
    assert "no further round is run" in warnings[0].getMessage()


async def test_an_untagged_arbiter_still_runs_min_iterations_and_says_so(caplog):
    member = Scripted("m", "a")
    arbiter = Scripted("judge", "Just a plain answer.")
    with caplog.at_level(logging.WARNING):
        result = await run(
            Call("q"), [member.participant()], arbiter.participant(), settings(min_iterations=2, max_iterations=3)
        )
    assert len(result.rounds) == 2 and result.confidence is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rounds continue only to min_iterations" in warnings[0]


async def test_no_arbiter_means_a_vote_among_the_answers():
    broken = Scripted("broken", RuntimeError("down"))
    members = [broken] + [Scripted(f"m{i}", a) for i, a in enumerate(["London", "Paris", "paris."])]
    result = await run(Call("q"), [m.participant() for m in members], None, settings())
    assert result.text.lower().startswith("paris")
    assert result.confidence == pytest.approx(2 / 4)  # the failed member counts against it
    assert result.rounds[0]["vote"]["winner"] == "m1"


async def test_arbiter_failure_falls_back_to_the_members_vote(caplog):
    # The first member to answer is the odd one out: the vote, not the order, decides.
    members = [Scripted("odd", "London"), Scripted("m1", "Paris"), Scripted("m2", "paris.")]
    arbiter = Scripted("judge", RuntimeError("arbiter down"))
    with caplog.at_level(logging.WARNING):
        result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings())
    assert result.text.lower().startswith("paris")
    assert result.confidence == pytest.approx(2 / 3)
    round_ = result.rounds[0]
    assert round_["arbiter"]["error"] == "arbiter down"
    assert round_["fallback"] == {"kept": "vote", "members": ["m1", "m2"], "answered": 3, "share": pytest.approx(2 / 3)}
    assert round_["confidence"] == pytest.approx(2 / 3)
    assert "the arbiter failed (arbiter down); the answer is the members' vote (2 of 3 agreed: m1, m2)" in caplog.text


async def test_an_arbiter_whose_context_window_is_too_small_is_told_in_plain_words(caplog):
    members = [Scripted("m1", "same"), Scripted("m2", "same")]
    arbiter = Scripted("judge", RuntimeError("Requested tokens (739) exceed context window of 512"))
    with caplog.at_level(logging.WARNING):
        result = await run(
            Call("q"), [m.participant() for m in members], arbiter.participant(),
            settings(skip_arbiter_on_agreement=False),
        )
    assert result.text == "same"
    assert "the arbiter's context window (512 tokens) is smaller than the judging prompt (739)" in caplog.text
    assert any("context window (512 tokens)" in note for note in result.notes)


async def test_every_round_records_its_confidence():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("one", 0.4), verdict("two", 0.8))
    result = await run(Call("q"), [member.participant()], arbiter.participant(), settings(confidence_threshold=0.7))
    assert [r["confidence"] for r in result.rounds] == [0.4, 0.8]
    assert result.trace()["confidence_threshold"] == 0.7
    voters = [Scripted("a", "x"), Scripted("b", "x"), Scripted("c", "y")]
    voted = await run(Call("q"), [m.participant() for m in voters], None, settings(max_iterations=1))
    assert voted.rounds[0]["confidence"] == pytest.approx(2 / 3)


async def test_arbiter_failure_in_a_later_round_keeps_the_earlier_synthesis():
    member = Scripted("m", "a")
    arbiter = Scripted("judge", verdict("first synthesis", 0.5), RuntimeError("gone"))
    result = await run(Call("q"), [member.participant()], arbiter.participant(), settings())
    assert result.text == "first synthesis" and result.final_round == 1
    assert result.rounds[1]["fallback"] == {"kept": "round", "round": 1}


async def test_all_members_failing_names_each_member_and_error():
    members = [Scripted("alpha", RuntimeError("HTTP 500")), Scripted("beta", ValueError("bad option"))]
    arbiter = Scripted("judge", verdict("never"))
    with pytest.raises(ConsortiumFailed) as info:
        await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings())
    message = str(info.value)
    assert "alpha: HTTP 500" in message and "beta: bad option" in message
    assert arbiter.calls == []


async def test_empty_answers_count_as_failures():
    members = [Scripted("blank", "   \n"), Scripted("real", "content")]
    arbiter = Scripted("judge", verdict("content"))
    result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings())
    assert result.rounds[0]["members"][0]["error"] == "empty answer"
    assert "content" in arbiter.calls[0].prompt


async def test_usage_sums_every_call_with_per_model_totals():
    members = [Scripted("m1", "a", tokens=(10, 1)), Scripted("m2", "b", tokens=(20, 2))]
    arbiter = Scripted("judge", verdict("x", 0.1), tokens=(100, 50))
    result = await run(
        Call("q"), [m.participant() for m in members], arbiter.participant(), settings(max_iterations=2)
    )
    assert result.usage["input"] == 2 * (10 + 20 + 100)
    assert result.usage["output"] == 2 * (1 + 2 + 50)
    assert result.usage["per_model"]["judge"] == {"calls": 2, "requests": 2, "input": 200, "output": 100}


async def test_member_timeout_is_recorded_and_the_round_goes_on():
    never = asyncio.Event()

    async def hang(call):
        await never.wait()

    slow = Scripted("slow", hang)
    fast = Scripted("fast", "quick")
    arbiter = Scripted("judge", verdict("quick"))
    result = await run(
        Call("q"), [slow.participant(), fast.participant()], arbiter.participant(), settings(timeout=0.2)
    )
    assert result.text == "quick"
    assert result.rounds[0]["members"][0]["error"] == "timed out after 0.2s"


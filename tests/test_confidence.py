"""Confidence is a statement about the configured panel (docs/confidence.md): a member
that failed or was never asked never raises it, waves never report more than the
whole panel would, members that agree raise it, identical answers are tied in a
review, and an arbiter that writes no tags ends the run instead of costing every
round. Scripted members; the properties are checked with Hypothesis."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from llm_consortium.engine import run
from llm_consortium.judging.ranking import Ballot, rank
from llm_consortium.render.trace_phrases import standing_text
from llm_consortium.types import Call, Participant

from helpers import Scripted, settings

DOWN = RuntimeError("500 server error")


def panel_of(answers: list[str | None], model: str = "m") -> list[Participant]:
    """One copy of a model per answer (None: the copy fails)."""
    return [Scripted(model, DOWN if a is None else a).participant(i + 1) for i, a in enumerate(answers)]


# ------------------------------------------------------------------ the vote


@pytest.mark.asyncio
async def test_members_that_failed_count_against_a_votes_confidence():
    """v1of3 with two members returning 500: not 1.00, and a 0.9 threshold is not reached."""
    members = [Scripted("alpha", "Paris").participant(), *panel_of([None, None], "bad")]
    result = await run(Call("q"), members, None, settings(confidence_threshold=0.9, max_iterations=2))
    assert result.confidence == pytest.approx(1 / 3)
    assert len(result.rounds) == 2  # below the threshold: the next round was run


@pytest.mark.asyncio
async def test_waves_never_report_more_than_the_whole_panel():
    """Three agreeing copies of five: 0.6, waves or not; under a 0.95 threshold the
    first three cannot decide the vote, so all five are asked."""
    answers = ["12", "12", "12", "13", "14"]
    plain = await run(Call("q"), panel_of(answers), None, settings(max_iterations=1))
    waved = await run(Call("q"), panel_of(answers), None,
                      settings(max_iterations=1, waves=True, confidence_threshold=0.95))
    assert plain.confidence == waved.confidence == pytest.approx(3 / 5)
    assert len(waved.rounds[0]["members"]) == 5 and "waves" not in waved.rounds[0]  # all five at once
    all_agree = await run(Call("q"), panel_of(["12"] * 5), None, settings(max_iterations=1, waves=True))
    assert all_agree.rounds[0]["waves"] == {"called": 4, "skipped": 1}
    assert all_agree.confidence == pytest.approx(4 / 5)  # the member not called is not counted for it


ANSWERS = st.lists(st.sampled_from(["12", "13", None]), min_size=1, max_size=6).filter(
    lambda answers: any(a is not None for a in answers)
)


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=ANSWERS, threshold=st.sampled_from([0.5, 0.7, 0.95]))
@pytest.mark.asyncio
async def test_a_votes_confidence_is_its_agreeing_members_over_the_whole_panel(answers, threshold):
    full = await run(Call("q"), panel_of(answers), None, settings(max_iterations=1, confidence_threshold=threshold))
    waved = await run(Call("q"), panel_of(answers), None,
                      settings(max_iterations=1, waves=True, confidence_threshold=threshold))
    agreeing = max(answers.count("12"), answers.count("13"))
    assert full.confidence == pytest.approx(agreeing / len(answers))
    assert waved.confidence is not None and waved.confidence <= full.confidence + 1e-9
    # Monotone: a member that failed or disagreed now agrees with the winner.
    winner = full.text
    for index, answer in enumerate(answers):
        if answer != winner:
            more = [*answers[:index], winner, *answers[index + 1:]]
            better = await run(Call("q"), panel_of(more), None,
                               settings(max_iterations=1, confidence_threshold=threshold))
            assert better.confidence is not None and better.confidence >= full.confidence
            break


@pytest.mark.asyncio
async def test_the_arbiter_skip_is_not_taken_when_failures_leave_agreement_below_the_threshold():
    members = [Scripted("a", "Paris").participant(), Scripted("b", "Paris").participant(),
               Scripted("c", DOWN).participant()]
    arbiter = Scripted("judge", "<confidence>0.9</confidence><needs_iteration>no</needs_iteration>"
                                "<synthesis>Paris, judged</synthesis>")
    result = await run(Call("q"), members, arbiter.participant(), settings(confidence_threshold=0.8))
    assert len(arbiter.calls) == 1 and result.text == "Paris, judged"  # 2 of 3 is below 0.8: ask the arbiter


# ------------------------------------------------------------------ peer review without an arbiter


def a_b_c(call: Call, answer: str) -> str:
    """A member that answers `answer` and, as a reviewer, always ranks A, B, C."""
    return "1. A - fine\n2. B - fine\n3. C - fine" if "Rank every answer" in call.prompt else answer


@pytest.mark.asyncio
async def test_a_review_with_arbitrary_rankings_is_never_worse_than_the_plain_vote():
    """Three of four answer 12, every reviewer returns "1. A / 2. B / 3. C": the vote
    gives 0.75 in one round; so must the review, and not run max_iterations rounds."""
    def member(name: str, answer: str) -> Participant:
        return Scripted(name, lambda call: a_b_c(call, answer)).participant()

    for seed in range(6):
        members = [member("w", "12"), member("x", "12"), member("y", "13"), member("z", "12")]
        result = await run(Call("7 + 5?"), members, None, settings(review=True, max_iterations=3),
                           rng=random.Random(seed))
        assert result.text == "12" and result.confidence is not None and result.confidence >= 0.75
        assert len(result.rounds) == 1


@pytest.mark.asyncio
async def test_identical_answers_from_copies_are_tied_not_ranked():
    copies = Scripted("m", lambda call: a_b_c(call, "12"))
    other = Scripted("o", lambda call: a_b_c(call, "13"))
    members = [copies.participant(1), copies.participant(2), copies.participant(3), other.participant()]
    result = await run(Call("7 + 5?"), members, None, settings(review=True, max_iterations=3))
    assert result.text == "12" and result.confidence == pytest.approx(0.75) and len(result.rounds) == 1
    ranking = result.rounds[0]["review"]["ranking"]
    scores = {row["member"]: row["score"] for row in ranking}
    assert scores["m"] == scores["m#2"] == scores["m#3"]


GROUPS = st.lists(st.integers(0, 2), min_size=2, max_size=6)


@given(groups=GROUPS, seed=st.integers(0, 10_000), failed=st.integers(0, 3))
def test_a_reviews_confidence_is_at_least_the_votes_and_never_raised_by_a_failure(groups, seed, failed):
    rng = random.Random(seed)
    members = list(range(len(groups)))
    group_of = dict(enumerate(groups))
    ballots = []
    for reviewer in members:
        shown = [m for m in members if m != reviewer]
        rng.shuffle(shown)
        if len(shown) >= 2:
            ballots.append(Ballot(reviewer, tuple(shown)))
    panel = len(members) + failed
    review = rank(ballots, members, group_of, panel)
    largest = max(groups.count(g) for g in set(groups))
    assert largest / panel - 1e-9 <= review.confidence <= 1.0
    assert rank(ballots, members, group_of, panel + 1).confidence <= review.confidence


def test_a_member_nobody_ranked_says_so():
    review = rank([Ballot(0, (1, 2))], [0, 1, 2], None, 3)
    unranked = next(s for s in review.table if s.member == 0)
    assert unranked.ballots == 0 and unranked.mean_rank is None and unranked.score is None
    text = standing_text({"member": "m0", "score": None, "mean_rank": None, "firsts": 0, "ballots": 0, "backers": 1})
    assert text == "not ranked by any reviewer"


# ------------------------------------------------------------------ the trace nits


@pytest.mark.asyncio
async def test_a_tier_never_asked_before_gets_the_request_not_your_last_attempt_failed():
    a = Scripted("a", "Paris", "Paris")
    b = Scripted("b", "Paris", "Lyon")
    strong = Scripted("strong", "Paris")
    members = [a.participant(), b.participant(), dataclasses.replace(strong.participant(), tier=2)]
    arbiter = Scripted("judge", "<confidence>0.9</confidence><needs_iteration>no</needs_iteration>"
                                "<synthesis>Paris</synthesis>")
    await run(Call("capital of France?"), members, arbiter.participant(), settings(min_iterations=2))
    assert len(strong.calls) == 1
    assert strong.calls[0].prompt == "capital of France?"
    assert "last attempt failed" not in a.calls[1].prompt + strong.calls[0].prompt


@pytest.mark.asyncio
async def test_the_waves_record_sums_every_tier():
    tier1 = [Scripted("c", "Paris"), Scripted("c", "Lyon"), Scripted("c", "Rome")]
    tier2 = [Scripted("s", "Paris"), Scripted("s", "Paris"), Scripted("s", "Paris")]
    members = [t.participant(i + 1) for i, t in enumerate(tier1)]
    members += [dataclasses.replace(t.participant(i + 1), tier=2) for i, t in enumerate(tier2)]
    result = await run(Call("q"), members, None, settings(waves=True, confidence_threshold=0.6, max_iterations=1))
    assert result.rounds[0]["waves"] == {"called": 5, "skipped": 1}


# ------------------------------------------------------------------ reading the arbiter's confidence


NOT_CONFIDENCES = ["150", "9 on a scale of 1-10", "8/10", "NaN", "inf", "high", "85", "-0.3", "150%"]


@pytest.mark.asyncio
@pytest.mark.parametrize("written", NOT_CONFIDENCES)
async def test_a_confidence_that_is_none_is_unknown_named_and_stops_the_run_like_no_tags(written, caplog):
    members = [Scripted("a", "Paris"), Scripted("b", "Lyon")]
    arbiter = Scripted("judge", f"<confidence>{written}</confidence><needs_iteration>yes</needs_iteration>"
                                "<synthesis>Paris</synthesis>")
    result = await run(Call("capital of France?"), [m.participant() for m in members], arbiter.participant(),
                       settings(max_iterations=3))
    assert result.confidence is None and result.text == "Paris"
    assert len(arbiter.calls) == 1 and [len(m.calls) for m in members] == [1, 1]
    [note] = [n for n in result.notes if "confidence unknown" in n]
    assert f"the arbiter's confidence {written!r} is no confidence (" in note and "no further round is run" in note
    assert caplog.text.count("with unknown confidence") == 1


@pytest.mark.asyncio
async def test_an_unknown_confidence_still_runs_to_min_iterations():
    arbiter = Scripted("judge", "<confidence>high</confidence><synthesis>Paris</synthesis>")
    result = await run(Call("q"), [Scripted("a", "Paris").participant(), Scripted("b", "Lyon").participant()],
                       arbiter.participant(), settings(min_iterations=2, max_iterations=3))
    assert len(arbiter.calls) == 2 and result.confidence is None


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"[-+]?\d{0,4}([.,]\d{0,4})?\s*(%|percent|/\s*\d+)?", fullmatch=True)))
def test_any_tag_content_is_a_confidence_only_when_it_is_one(content):
    from llm_consortium.judging.arbiter_reply.grammar import numbers, read_confidence
    from llm_consortium.judging.arbiter_reply.reader import parse_verdict

    content = content.replace("<", "")  # the tag's content, not more tags
    verdict = parse_verdict(f"<synthesis>s</synthesis><confidence>{content}</confidence>")
    reading = read_confidence(content.strip())
    if verdict.confidence is None:
        assert reading.value is None
        if content.strip():
            assert "is no confidence (" in reading.problem
            shown = " ".join(content.split())[:20]
            assert shown in reading.problem or not shown.replace(" ", "").isalnum()  # it names what was written
            assert verdict.confidence_note == reading.problem
        return
    assert 0.0 <= verdict.confidence <= 1.0 and verdict.confidence == reading.value
    found = numbers.find(content)
    assert len(found) == 1  # one number, never a scale or a fraction
    percent = re.search(r"\d\s*(%|percent)", content, re.IGNORECASE) is not None
    assert float(found[0]) == pytest.approx(verdict.confidence * (100 if percent else 1))

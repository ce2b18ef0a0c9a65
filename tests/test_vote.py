"""Vote mode: normalising and grouping answers (pure), and the engine's vote rounds
driven by scripted members."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_consortium.engine import run
from llm_consortium.judging import prompts, vote
from llm_consortium.types import Call, Settings

from helpers import Scripted, settings


def vote_settings(**overrides) -> Settings:
    return settings(**overrides, strategy="vote")


# ---------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  Paris. ", "paris"),
        ('"PARIS!"', "paris"),
        ("The   capital\nis Paris", "the capital is paris"),
        ("Let me think.\nIt is in France.\nFinal answer: Paris", "paris"),
        ("Reasoning...\n**Answer:** 42.\n", "42"),
        ("answer: -5", "-5"),
        ("Answer:", "answer"),  # an empty answer line is not an answer
        ("ｐａｒｉｓ", "paris"),  # full-width letters
    ],
)
def test_normalise(text, expected):
    assert vote.normalise(text) == expected


def test_answer_line_only_counts_at_the_end():
    assert vote.normalise("Answer: 4\nbut on reflection it is 5") == "answer: 4 but on reflection it is 5"


def test_similarity_picks_wordings_but_never_groups():
    assert vote.similarity("the capital of france is paris", "paris is the capital of france") == 1
    # a different number is a different answer, however much else matches
    long = "after working through every step carefully the total comes to {}"
    assert vote.similarity(long.format(41), long.format(42)) == 0
    # alike by word overlap, yet opposite claims: overlap alone never makes a group
    alike = ["Paris is the capital of France.", "Paris is not the capital of France."]
    assert vote.similarity(*(vote.normalise(a) for a in alike)) > 0.75
    assert [g.members for g in vote.group(alike)] == [(0,), (1,)]


# ------------------------------------------------------------------- grouping


def test_near_identical_answers_form_one_group():
    answers = ["Paris.", "paris", "The capital of France is Paris", "Lyon", "Final answer: PARIS"]
    groups = vote.group(answers, prompt="What is the capital of France?")
    assert [g.members for g in groups] == [(0, 1, 2, 4), (3,)]
    assert [g.share for g in groups] == [0.8, 0.2]
    assert groups[0].answer == "Paris."  # central: identical to the others, earliest wins


def test_rewordings_of_one_short_answer_are_one_group_and_the_central_one_is_returned():
    answers = [
        "The capital of France is Paris.",
        "Paris is the capital of France.",
        "paris is the capital of france",
        "The capital of France is Lyon.",
    ]
    groups = vote.group(answers, prompt="What is the capital of France?")
    assert groups[0].members == (0, 1, 2)
    assert groups[0].share == 0.75
    # answer 0 and 2 are identical as word sets; the earlier one is the centre
    assert groups[0].answer == "The capital of France is Paris."
    assert groups[1].members == (3,)


def test_without_the_prompt_rewordings_stay_apart():
    answers = ["The capital of France is Paris.", "Paris is the capital city of France."]
    assert [g.members for g in vote.group(answers)] == [(0,), (1,)]


def test_failed_members_are_not_counted():
    groups = vote.group([None, "yes", "  ", "no", "Yes!"])
    assert [(g.members, g.share) for g in groups] == [((1, 4), 2 / 3), ((3,), 1 / 3)]


def test_ties_go_to_the_earlier_member():
    assert vote.group(["blue", "red"])[0].answer == "blue"
    assert vote.group(["red", "blue", "blue", "red"])[0].answer == "red"
    assert vote.group(["red", "blue", "blue"])[0].answer == "blue"  # size beats order


def test_tally_records_groups_with_member_names_and_extracted_answers():
    winner, trace = vote.tally(["4", "five", "4."], ["alpha", "beta", "alpha#2"])
    assert winner.answer == "4"
    assert trace == {
        "matching": "auto",
        "groups": [
            {"answer": "4", "extracted": "4", "members": ["alpha", "alpha#2"], "share": 2 / 3,
             "conclusions": [{"member": "alpha", "conclusion": "4", "rule": "bare number"},
                             {"member": "alpha#2", "conclusion": "4", "rule": "bare number"}]},
            {"answer": "five", "extracted": "5", "members": ["beta"], "share": 1 / 3,
             "conclusions": [{"member": "beta", "conclusion": "5", "rule": "bare number"}]},
        ],
        "winner": "alpha",
        "share": 2 / 3,
    }


answer_lists = st.lists(
    st.one_of(st.none(), st.sampled_from(["Paris", "paris.", "Lyon", "the answer is 4", "4", ""]), st.text(max_size=30)),
    max_size=8,
)


@given(answer_lists)
def test_shares_sum_to_one_and_every_answer_is_in_one_group(answers):
    groups = vote.group(answers)
    present = [i for i, a in enumerate(answers) if a is not None and a.strip()]
    assert sorted(i for g in groups for i in g.members) == present
    if present:
        assert math.isclose(sum(g.share for g in groups), 1.0)
        assert all(g.central in g.members for g in groups)
        sizes = [len(g.members) for g in groups]
        assert sizes == sorted(sizes, reverse=True)


@given(answer_lists)
def test_grouping_is_deterministic(answers):
    assert vote.group(list(answers)) == vote.group(list(answers))


# ---------------------------------------------------------------- peer prompt


def test_peer_prompt_shows_own_and_others_answers_without_names():
    text = prompts.build_peer_prompt("Capital of France?", "Lyon", ["Paris", "Paris, France"])
    assert "Capital of France?" in text
    assert "## Your answer" in text and "Lyon" in text
    assert "## Other answer 1" in text and "## Other answer 2" in text
    assert "Final answer:" in text


def test_peer_prompt_after_a_failure_asks_for_a_fresh_answer():
    text = prompts.build_peer_prompt("q", None, ["a"])
    assert "failed" in text


# --------------------------------------------------------------- engine rounds


@pytest.mark.asyncio
async def test_vote_round_returns_the_majority_with_its_share():
    members = [Scripted("a", "Paris."), Scripted("b", "paris"), Scripted("c", "Lyon")]
    result = await run(Call("q"), [m.participant() for m in members], None, vote_settings(confidence_threshold=0.6))
    assert result.text == "Paris."
    assert result.confidence == pytest.approx(2 / 3)
    assert len(result.rounds) == 1
    assert [(g["extracted"], g["members"], g["share"]) for g in result.rounds[0]["vote"]["groups"]] == [
        ("paris", ["a", "b"], 2 / 3), ("lyon", ["c"], 1 / 3)
    ]


@pytest.mark.asyncio
async def test_below_threshold_members_see_peers_answers_and_converge():
    def revise(call):
        return "Paris" if "Paris" in call.prompt else "Lyon"

    a = Scripted("a", "Paris", "Paris")
    b = Scripted("b", "Lyon", revise)
    c = Scripted("c", "Marseille", revise)
    result = await run(
        Call("Capital of France?"),
        [a.participant(), b.participant(), c.participant()],
        None,
        vote_settings(confidence_threshold=0.9),
        rng=random.Random(1),
    )
    assert [r["vote"]["share"] for r in result.rounds] == [pytest.approx(1 / 3), 1.0]
    assert result.text == "Paris" and result.confidence == 1.0 and result.final_round == 2
    peer_prompt = b.calls[1].prompt
    assert "Capital of France?" in peer_prompt
    assert "## Your answer\n" in peer_prompt and "Lyon" in peer_prompt
    assert "Paris" in peer_prompt and "Marseille" in peer_prompt


@pytest.mark.asyncio
async def test_vote_stops_at_max_iterations_and_keeps_the_best_round():
    a = Scripted("a", "yes", "no")
    b = Scripted("b", "yes", "maybe")
    c = Scripted("c", "no", "perhaps")
    result = await run(
        Call("q"), [a.participant(), b.participant(), c.participant()], None,
        vote_settings(confidence_threshold=0.9, max_iterations=2),
    )
    assert len(result.rounds) == 2
    assert result.text == "yes" and result.final_round == 1
    assert result.confidence == pytest.approx(2 / 3)


@pytest.mark.asyncio
async def test_min_iterations_forces_a_peer_round_even_when_unanimous():
    a, b = Scripted("a", "same"), Scripted("b", "same")
    result = await run(Call("q"), [a.participant(), b.participant()], None, vote_settings(min_iterations=2))
    assert len(result.rounds) == 2 and len(a.calls) == 2
    assert "## Other answer 1" in a.calls[1].prompt


@pytest.mark.asyncio
async def test_vote_tie_goes_to_the_earlier_member_and_failures_do_not_count():
    members = [Scripted("a", RuntimeError("down")), Scripted("b", "red"), Scripted("c", "blue")]
    result = await run(
        Call("q"), [m.participant() for m in members], None, vote_settings(max_iterations=1)
    )
    assert result.text == "red" and result.confidence == pytest.approx(1 / 3)  # a's failure counts against it
    assert [g["members"] for g in result.rounds[0]["vote"]["groups"]] == [["b"], ["c"]]


@pytest.mark.asyncio
async def test_vote_ignores_an_arbiter_and_never_calls_it():
    arbiter = Scripted("judge", "should not be asked")
    member = Scripted("m", "answer")
    result = await run(Call("q"), [member.participant()], arbiter.participant(), vote_settings())
    assert result.text == "answer" and arbiter.calls == []


# ------------------------------------------------------------ through llm's CLI


def test_cli_vote_strategy_skips_the_arbiter_and_logs_the_groups(loopback, openai_models):
    from click.testing import CliRunner
    from llm.cli import cli

    from loopback import reply

    openai_models(["alpha", "beta", "gamma", "judge"])
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["consortiums", "create", "voters", "-m", "alpha", "-m", "beta", "-m", "gamma", "-a", "judge", "--strategy", "vote"],
    )
    assert created.exit_code == 0, created.output
    loopback.script("alpha", reply("It is Paris.\nFinal answer: Paris"))
    loopback.script("beta", reply("PARIS"))
    loopback.script("gamma", reply("Lyon"))
    result = runner.invoke(cli, ["-m", "voters", "Capital of France?"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "It is Paris.\nFinal answer: Paris\n"
    assert loopback.requests_for("judge") == []
    trace = json.loads(runner.invoke(cli, ["logs", "--json", "-n", "1"]).stdout)[0]["response_json"]
    assert trace["confidence"] == pytest.approx(2 / 3)
    assert [(g["members"], g["share"]) for g in trace["rounds"][0]["vote"]["groups"]] == [
        (["alpha", "beta"], pytest.approx(2 / 3)),
        (["gamma"], pytest.approx(1 / 3)),
    ]


# ------------------------------------------------------------ the final-answer line


@pytest.mark.asyncio
@pytest.mark.parametrize("asked", [True, False])
async def test_the_final_answer_line_is_asked_for_when_set_and_read_when_there(asked):
    replies = ["Seven plus five is twelve, I think.\nFinal answer: 12", "Let me add them.\nFinal answer: 12"]
    members = [Scripted(name, reply) for name, reply in zip("ab", replies, strict=True)]
    result = await run(
        Call("What is 7 + 5?"), [m.participant() for m in members], None,
        vote_settings(final_answer_line=asked, max_iterations=1),
    )
    assert [("Final answer: <your answer>" in m.calls[0].prompt) for m in members] == [asked, asked]
    assert [(g["extracted"], g["members"]) for g in result.rounds[0]["vote"]["groups"]] == [("12", ["a", "b"])]


@pytest.mark.asyncio
async def test_the_final_answer_line_is_never_asked_of_json_answers():
    member = Scripted("a", '{"n": 12}')
    await run(Call("What is 7 + 5?", schema={"type": "object"}), [member.participant()], None,
              vote_settings(final_answer_line=True, max_iterations=1))
    assert "Final answer" not in member.calls[0].prompt

"""The matching setting end to end through llm's real CLI: loopback members that say
one answer in different words, a `semantic` vote with an embedding model registered
through llm's plugin hook, a `judge` vote with a loopback grouping model, and bad
settings refused in one line before any call."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from embed_plugin import EmbedPlugin
from helpers import llm_run, ok, refused, registered, save
from loopback import last_user_text, reply

REWORDED = ["The answer is 12.", "7 + 5 = 12.", "12"]
MEMBERS = ["m1", "m2", "m3"]


@pytest.fixture
def members(loopback, openai_models):
    openai_models([*MEMBERS, "grouper", "judge"])
    return loopback


@pytest.fixture
def letters() -> Iterator[EmbedPlugin]:
    with registered(EmbedPlugin(), "embed-test-plugin") as plugin:
        yield plugin


def script(loopback, answers):
    for name, text in zip(MEMBERS, answers, strict=True):
        loopback.script(name, reply(text))


def prompt(*args: str):
    result = llm_run("-m", "voters", *args, "What is 7 + 5?")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result


def last_trace() -> dict:
    return json.loads(llm_run("logs", "--json", "-n", "1").stdout)[0]["response_json"]


def test_rewordings_of_one_answer_are_one_group_with_share_one(members):
    save("voters", MEMBERS, arbiter=None, max_iterations=1)
    script(members, REWORDED)
    assert prompt().stdout == "The answer is 12.\n"
    vote = last_trace()["rounds"][0]["vote"]
    assert vote["matching"] == "auto"
    assert vote["share"] == 1.0
    assert vote["groups"] == [
        {"answer": "The answer is 12.", "extracted": "12", "members": MEMBERS, "share": 1.0,
         "conclusions": [{"member": "m1", "conclusion": "12", "rule": "stated answer"},
                         {"member": "m2", "conclusion": "12", "rule": "result"},
                         {"member": "m3", "conclusion": "12", "rule": "bare number"}]}
    ]
    shown = llm_run("consortiums", "trace").stdout
    assert "Vote 3 of 3 answers = 12 (stated answer, result, bare number): m1, m2, m3" in shown


CITIES = ["Paris, with about 2 million people.", "Lyon, with about 2 million people.", "Marseille, about 2 million."]
CITY_PROMPT = "Which French city has about 2 million people?"


def test_different_cities_sharing_a_figure_go_to_the_arbiter(members):
    save("cities", MEMBERS, arbiter="judge", max_iterations=1)
    script(members, CITIES)
    members.script("judge", reply("<confidence>0.6</confidence><synthesis>Paris, roughly.</synthesis>"))
    result = llm_run("-m", "cities", CITY_PROMPT)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Paris, roughly.\n", "")
    round_ = last_trace()["rounds"][0]
    assert "arbiter_skipped" not in round_ and round_["arbiter"]["synthesis"] == "Paris, roughly."
    assert len(members.requests_for("judge")) == 1


def test_different_cities_sharing_a_figure_are_three_groups_in_a_vote(members):
    save("cities", MEMBERS, arbiter=None, max_iterations=1)
    script(members, CITIES)
    result = llm_run("-m", "cities", CITY_PROMPT)
    assert result.exit_code == 0 and result.stderr == ""
    vote = last_trace()["rounds"][0]["vote"]
    assert [g["extracted"] for g in vote["groups"]] == ["paris", "lyon", "marseille"]  # the figure is context
    assert vote["share"] == pytest.approx(1 / 3)


def test_exact_matching_keeps_the_wordings_apart(members):
    save("voters", MEMBERS, arbiter=None, max_iterations=1, matching="exact")
    script(members, REWORDED)
    prompt()
    assert [len(g["members"]) for g in last_trace()["rounds"][0]["vote"]["groups"]] == [1, 1, 1]


def test_number_tolerance_from_the_command_line(members):
    save("voters", MEMBERS, arbiter=None, max_iterations=1)
    script(members, ["3.14", "About 3.1416.", "3.5"])
    prompt("-o", "matching", "number", "-o", "matching_tolerance", "0.01")
    vote = last_trace()["rounds"][0]["vote"]
    assert (vote["matching"], vote["share"]) == ("number", pytest.approx(2 / 3))


def test_semantic_matching_embeds_each_answer_once(members, letters):
    save("voters", MEMBERS, arbiter=None, max_iterations=1, matching="semantic", matching_model="letters")
    script(members, ["Paris", "PARIS!", "Lyon"])
    assert prompt().stdout == "Paris\n"
    vote = last_trace()["rounds"][0]["vote"]
    assert (vote["matching"], vote["share"]) == ("semantic", pytest.approx(2 / 3))
    assert letters.model.batches == [["Paris", "PARIS!", "Lyon"]]


def test_semantic_threshold_decides_what_is_close_enough(members, letters):
    save("voters", MEMBERS, arbiter=None, max_iterations=1, matching="semantic", matching_model="letters")
    script(members, ["Paris", "Pariss", "Lyon"])
    prompt("-o", "matching_threshold", "0.999")
    assert last_trace()["rounds"][0]["vote"]["share"] == pytest.approx(1 / 3)


def test_judge_matching_groups_as_the_model_says_and_counts_its_cost(members):
    save("voters", MEMBERS, arbiter=None, max_iterations=1, matching="judge", matching_model="grouper")
    script(members, ["Twelve.", "It is 12", "13"])
    members.script("grouper", reply("GROUPS: 1,2; 3"))
    assert prompt().stdout == "Twelve.\n"
    trace = last_trace()
    vote = trace["rounds"][0]["vote"]
    assert (vote["matching"], vote["share"]) == ("judge", pytest.approx(2 / 3))
    assert trace["usage"]["per_model"]["grouper"]["calls"] == 1
    [request] = members.requests_for("grouper")
    assert "It is 12" in last_user_text(request) and "GROUPS:" in last_user_text(request)


def test_an_unreadable_grouping_falls_back_to_auto_and_says_so(members):
    save("voters", MEMBERS, arbiter=None, max_iterations=1, matching="judge", matching_model="grouper")
    script(members, REWORDED)
    members.script("grouper", reply("They all look the same to me."))
    prompt()
    trace = last_trace()
    assert trace["rounds"][0]["vote"]["share"] == 1.0
    assert any("grouped by auto" in note for note in trace["notes"])


def test_create_saves_the_matching_settings(members, letters):
    ok("create", "voters", "-m", "m1:3", "--matching", "semantic", "--matching-model", "letters",
       "--matching-threshold", "0.9")
    shown = json.loads(ok("show", "voters", "--json").stdout)
    assert (shown["matching"], shown["matching_model"], shown["matching_threshold"]) == ("semantic", "letters", 0.9)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--matching", "fuzzy"], "'fuzzy' is not one of"),
        (["--matching", "number", "--matching-tolerance", "-1"], "--matching-tolerance"),
        (["--matching", "semantic", "--matching-model", "m1"], "'m1' is a chat model"),
        (["--matching", "judge"], "needs a matching_model"),
    ],
)
def test_create_refuses_bad_matching_in_one_line(members, args, says):
    assert says in refused("create", "voters", "-m", "m1", *args)


@pytest.mark.parametrize(
    "options, says",
    [
        # llm checks `-o` against the Options class itself, in its own format: the key, then the problem
        (["-o", "matching", "fuzzy"], "Error: matching\n  must be one of auto, exact, number, choice, semantic, judge\n"),
        (["-o", "matching_tolerance", "-0.5"], "Error: matching_tolerance\n  must be 0 or more, got -0.5\n"),
        (["-o", "matching", "semantic", "-o", "matching_model", "m1"], "Error: matching model 'm1' is not an embedding model"),
    ],
)
def test_bad_matching_options_fail_before_any_call(members, options, says):
    save("voters", MEMBERS, arbiter=None, max_iterations=1)
    result = llm_run("-m", "voters", *options, "What is 7 + 5?")
    assert result.exit_code != 0
    assert result.stderr.startswith(says), result.stderr
    assert members.requests == []

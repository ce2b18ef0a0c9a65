"""Issue 35 items 2, 3, 5 and 8, and issue 32 item 6: prompts built from model text
are bounded and say what they cut; a consortium file means one thing (no key twice,
integers that are integers, no member that is the consortium itself, options its
models accept); deleting a consortium another one uses says so; every message points
at something that exists; an id with hidden characters is shown escaped."""

from __future__ import annotations

import pathlib
import random

import pytest

from llm_consortium.adapter.model_matchers import judge_prompt
from llm_consortium.engine import run
from llm_consortium.judging import prompts
from llm_consortium.judging.arbiter_reply.verdict import Verdict
from llm_consortium.judging.ballots import build_review_prompt
from llm_consortium.saved import store
from llm_consortium.text.cuts import ANSWER_CHARS, TOTAL_CHARS, Caps, fit
from llm_consortium.types import Call

from helpers import Scripted, llm_run, ok, refused, save, settings, verdict

HUGE = "x" * 10_000_000  # a member that replies 10 MB
SLACK = 6_000  # the instructions around the answers


# --- 2. bounded prompts -------------------------------------------------------


@pytest.mark.asyncio
async def test_a_huge_answer_reaches_the_arbiter_cut_and_said_so_in_the_prompt_and_the_trace():
    huge, small = Scripted("huge", HUGE), Scripted("small", "12")
    arbiter = Scripted("judge", verdict("12"))
    result = await run(Call("What is 7+5?"), [huge.participant(), small.participant()], arbiter.participant(),
                       settings())
    sent = arbiter.calls[0].prompt
    assert len(sent) < ANSWER_CHARS + SLACK
    assert "only its first 24,000 of 10,000,000 characters are shown" in sent
    assert "12" in sent  # the short answer whole
    assert any("10,000,000 characters" in note for note in result.notes)


def test_every_prompt_from_model_text_holds_at_most_the_total_cap():
    answers = [HUGE[: 50_000]] * 8
    limit = TOTAL_CHARS + SLACK
    labelled = [prompts.LabelledAnswer(label, text, None) for label, text in zip("ABCDEFGH", answers, strict=True)]
    arbiter = prompts.build_arbiter_prompt(prompt="q", history=[("assistant", HUGE)], answers=labelled,
                                           round_number=1, max_rounds=2)
    refine = prompts.build_refinement_prompt(prompt="q", previous_answer=HUGE,
                                             verdict=Verdict(synthesis=HUGE, dissent=HUGE, refinement_areas=[HUGE]))
    peers = prompts.peer_prompts("q", answers, random.Random(0))
    review = build_review_prompt("q", [(label, text) for label, text in zip("ABCDEFGH", answers, strict=True)])
    judge = judge_prompt(answers)
    for text in (arbiter, refine, *peers, review, judge):
        assert len(text) < limit and "characters are shown" in text


def test_short_answers_stay_whole_and_the_long_ones_share_what_is_left():
    cuts = fit(["a" * 10, "b" * 100, "c" * 1_000], Caps(answer_chars=500, total_chars=410))
    assert [len(c.text) for c in cuts if c] == [10, 100, 300]
    assert [c.is_cut for c in cuts if c] == [False, False, True]


# --- 3. a file means one thing --------------------------------------------------


def write(name: str, text: str) -> None:
    store.folder().mkdir(exist_ok=True)
    store.path_for(name).write_text(text)


def broken(name: str) -> str:
    """The reason `list` gives for `name`, which must be BROKEN there and in `llm models`."""
    rows = {key.strip(): value for key, value in (line.split(" : ", 1) for line in ok("list").stdout.splitlines())}
    assert rows[name].startswith("BROKEN: "), rows[name]
    return rows[name]


def test_a_consortium_listing_itself_is_broken_at_read_time():
    write("selfish", "models: [{model_id: alpha}, {model_id: selfish}]\n")
    assert "lists itself ('selfish') as a member" in broken("selfish")
    assert "Consortium: selfish (broken: " in llm_run("models").stdout
    write("judge-me", "models: [{model_id: alpha}]\narbiter: {model_id: judge-me}\n")
    assert "names itself ('judge-me') as its arbiter" in broken("judge-me")


def test_a_key_given_twice_is_an_error_naming_its_line():
    write("twice", "models: [{model_id: alpha}]\nmax_iterations: 2\nmodels: [{model_id: beta}]\n")
    assert "the key 'models' appears twice in one mapping (line 3)" in broken("twice")
    write("twice-inside", "models:\n- model_id: alpha\n  model_id: beta\n")
    assert "'model_id' appears twice" in broken("twice-inside")


@pytest.mark.parametrize("setting", ["count: true", "count: '3'", "count: 2.0", "tier: false"])
def test_an_integer_field_takes_only_integers(setting):
    write("loose", f"models:\n- model_id: alpha\n  {setting}\n")
    assert "Input should be a valid integer" in broken("loose")


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("max_iterations: true", "max_iterations: must be a whole number, not true"),
        ("retries: '2'", "retries: must be a whole number, not text"),
        ("confidence_threshold: true", "confidence_threshold: must be a number, not true"),
    ],
)
def test_top_level_numbers_are_numbers(setting, problem):
    write("loose", f"models: [{{model_id: alpha}}]\n{setting}\n")
    assert problem in broken("loose")


def test_deleting_a_consortium_another_uses_warns_and_names_it():
    save("inner", ["alpha"], arbiter=None)
    save("outer", ["inner", "beta"], arbiter=None)
    result = ok("delete", "inner", "-y")
    assert "Warning: consortium 'outer' uses 'inner'" in result.stderr
    assert not store.path_for("inner").exists()
    assert "Warning" not in ok("delete", "outer", "-y").stderr


# --- issue 32.6: options the model refuses ---------------------------------------


def test_an_option_the_model_refuses_is_broken_in_list_and_refused_before_any_call(openai_models, loopback):
    openai_models(["alpha", "beta"])
    write("hot", "models:\n- model_id: alpha\n  options: {temperature: hot}\n- model_id: beta\n")
    write("typo", "models:\n- model_id: alpha\n  options: {temprature: 0.5}\n")
    assert "Invalid option for alpha: temperature:" in broken("hot")
    assert "Invalid option for alpha: temprature:" in broken("typo")
    run_ = llm_run("-m", "hot", "hello")
    assert run_.exit_code == 1 and "Invalid option for alpha" in run_.output
    assert loopback.requests == []  # nothing was called


# --- 5. messages that lead somewhere ----------------------------------------------


def test_a_negative_price_gets_the_price_rule_not_a_missing_option():
    error = refused("prices", "set", "alpha", "-1", "5")
    assert "must be a number, 0 or more, got -1" in error


def test_a_symlinked_price_table_names_the_flag_prices_set_has(tmp_path):
    from llm_consortium.saved import prices

    elsewhere = tmp_path / "prices.json"
    elsewhere.write_text("{}\n")
    prices.path().symlink_to(elsewhere)
    error = refused("prices", "set", "alpha", "1", "2", "--force")
    assert "give --follow-symlinks to write there" in error
    ok("prices", "set", "alpha", "1", "2", "--follow-symlinks", "--force")
    assert '"alpha"' in elsewhere.read_text() and prices.path().is_symlink()


def test_create_without_a_name_asks_again_after_a_name_that_clashes(monkeypatch):
    from llm_consortium.cli import manage

    monkeypatch.setattr(manage, "_stdin_is_terminal", lambda: True)
    save("taken", ["alpha"], arbiter=None)
    result = ok("create", "-m", "gpt-4o-mini", input="gpt-4o\ntaken\nfree\n")
    assert result.output.count("Consortium name:") == 3
    assert "'gpt-4o' is already a model id or alias" in result.output
    assert "Consortium 'taken' already exists" in result.output
    assert store.load("free").models[0].model_id == "gpt-4o-mini"


# --- 8. what list shows -------------------------------------------------------------


def test_list_shows_hidden_characters_in_a_member_id_escaped():
    write("odd", 'models: [{model_id: "al\\e]0;T\\apha"}, {model_id: "gpt-4o\\u202e-inim"}]\n')
    line = ok("list").stdout
    assert "members al\\x1b]0;T\\x07pha, gpt-4o\\u202e-inim;" in line
    assert "\x1b" not in line and "\u202e" not in line
    assert "al\\x1b]0;T\\x07pha" in llm_run("models").stdout


def test_a_consortium_file_path_is_not_a_place_for_anything_but_its_file(user_path: pathlib.Path):
    store.folder().mkdir()
    (store.folder() / "dir.yaml").mkdir()
    assert "not a regular file (a folder)" in broken("dir")


# --- 6. NaN named as NaN (in files, create and prices) -------------------------------


def test_nan_is_named_as_nan_in_a_file_in_create_and_in_prices():
    write("nan", "models: [{model_id: alpha}]\ntimeout: .nan\n")
    assert "timeout: must be more than 0, not NaN (line 2)" in broken("nan")
    assert "confidence_threshold (-t/--threshold): must be 0 to 1, not NaN" in refused("create", "x", "-m", "alpha", "-t", "nan")
    assert "got NaN (not a number)" in refused("prices", "set", "alpha", "nan", "1")

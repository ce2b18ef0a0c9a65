"""Spending less through llm's real CLI and its OpenAI plugin against the loopback
server, counting the requests each model received: a money budget without prices
is refused before any call, the arbiter is skipped when members agree, tiers are
asked only when needed, and a budget stops a run between rounds."""

from __future__ import annotations

import pytest

from helpers import judge_saying, llm_run, llm_subprocess, ok, save
from loopback import reply


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["cheap1", "cheap2", "strong", "judge"])
    loopback.script("judge", judge_saying("The judged answer"))
    return "panel"


def test_a_money_budget_with_an_unpriced_model_is_refused_before_any_call(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge", budget_usd=0.5)
    ok("prices", "set", "cheap1", "0.1", "0.4")
    ok("prices", "set", "cheap2", "0.1", "0.4")
    done = llm_subprocess(user_path, "-m", panel, "What is 2+2?")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "judge" in done.stderr and "cheap" not in done.stderr.split("none is set for")[1]
    assert loopback.requests == []


def test_a_money_budget_given_with_o_is_checked_the_same_way(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge")
    done = llm_subprocess(user_path, "-m", panel, "-o", "budget_usd", "1", "What is 2+2?")
    assert done.returncode != 0 and "cheap1, cheap2, judge" in done.stderr
    assert loopback.requests == []


def test_a_negative_budget_option_is_one_line_before_any_call(panel, loopback):
    save(panel, ["cheap1", "cheap2"], "judge")
    result = llm_run("-m", panel, "-o", "budget_tokens", "-1", "What is 2+2?")
    assert result.exit_code != 0 and "budget_tokens" in result.output
    assert loopback.requests == []


def test_priced_models_run_under_a_money_budget(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge", budget_usd=1.0)
    for model in ("cheap1", "cheap2", "judge"):
        ok("prices", "set", model, "0.1", "0.4")
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("five"))
    done = llm_subprocess(user_path, "-m", panel, "What is 2+2?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The judged answer\n" and done.stderr == ""

"""Spending less through llm's real CLI and its OpenAI plugin against the loopback
server, counting the requests each model received: a money budget without prices
is refused before any call, the arbiter is skipped when members agree, tiers are
asked only when needed, and a budget stops a run between rounds."""

from __future__ import annotations

import re

import pytest

from helpers import judge_saying, llm_run, llm_subprocess, ok, save, verdict
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


def test_agreeing_members_skip_the_arbiter_and_o_turns_the_skip_off(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge")
    loopback.script("cheap1", reply("Four"))
    loopback.script("cheap2", reply("four."))
    done = llm_subprocess(user_path, "-m", panel, "-u", "What is 2+2?")
    assert done.returncode == 0 and done.stdout == "Four\n"
    assert loopback.requests_for("judge") == []
    assert '"calls_saved": {"agreement": 1}' in done.stderr
    done = llm_subprocess(user_path, "-m", panel, "-o", "skip_arbiter_on_agreement", "0", "What is 2+2?")
    assert done.stdout == "The judged answer\n" and done.stderr == ""
    assert len(loopback.requests_for("judge")) == 1


def test_tiers_call_the_strong_model_only_when_the_cheap_ones_disagree(panel, loopback, user_path):
    ok("create", panel, "-m", "cheap1", "-m", "cheap2", "-m", "strong", "-a", "judge", "--tier", "strong", "2")
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("four"))
    done = llm_subprocess(user_path, "-m", panel, "What is 2+2?")
    assert (done.returncode, done.stdout, done.stderr) == (0, "four\n", "")
    assert loopback.requests_for("strong") == [] and loopback.requests_for("judge") == []
    loopback.script("cheap2", reply("five"))
    done = llm_subprocess(user_path, "-m", panel, "What is 2+2?")
    assert (done.returncode, done.stdout, done.stderr) == (0, "The judged answer\n", "")
    assert len(loopback.requests_for("strong")) == 1 and len(loopback.requests_for("judge")) == 1
    judged = loopback.requests_for("judge")[0]
    assert all(answer in str(judged.body) for answer in ("four", "five", "strong says"))


def test_a_token_budget_stops_between_rounds_with_one_warning_line(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge", budget_tokens=900, max_iterations=3)
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("five"))
    loopback.script("judge", reply(verdict("A first draft", 0.2, True, "be exact")))
    done = llm_subprocess(user_path, "-m", panel, "What is 2+2?")
    assert done.returncode == 0 and done.stdout == "four\n"  # round 2's vote (0.5) beats the draft (0.2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "stopped for the budget" in lines[0] and "token budget of 900" in lines[0]
    assert len(loopback.requests_for("judge")) == 1 and len(loopback.requests_for("cheap1")) == 2


def test_eval_reads_its_prices_from_the_users_table(panel, loopback, user_path, tmp_path):
    import json

    save(panel, ["cheap1", "cheap2"], "judge")
    for model in ("cheap1", "cheap2", "judge"):
        ok("prices", "set", model, "1", "1")
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"prompt": "2+2?", "expected": "four"}) + "\n")
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("four"))
    result = ok("eval", panel, str(data), "--no-members", "--no-baseline", "--json")
    system = json.loads(result.stdout)["systems"][0]
    assert system["cost"] == pytest.approx((system["input_tokens"] + system["output_tokens"]) / 1e6)
    assert system["calls"] == 2  # the members agreed: no arbiter call


def test_trace_runs_and_html_show_the_cost_and_the_skipped_arbiter(panel, loopback, user_path, tmp_path):
    save(panel, ["cheap1", "cheap2"], "judge")
    for model in ("cheap1", "cheap2", "judge"):
        ok("prices", "set", model, "1", "1")
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("four"))
    assert llm_run("-m", panel, "What is 2+2?").exit_code == 0
    text = ok("trace").output
    assert "Arbiter skipped: all 2 answers agree" in text and "saved 1 call (agreement 1)" in text
    # a few tokens at $1 per million: a figure (like $0.000008), not "$0.0000"
    assert re.search(r"cost \$0\.0+[1-9]", text) and "cost $0.0000 " not in text
    header, row = ok("runs").output.splitlines()[:2]
    assert "COST" in header and "SAVED" in header and re.search(r"\$0\.0+[1-9]", row)
    page = tmp_path / "run.html"
    ok("trace", "--html", str(page))
    assert "Arbiter skipped: all 2 answers agree" in page.read_text()

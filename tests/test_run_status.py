"""A run's status says what its answer rests on (engine/status.py), and unknown token
usage stays unknown: through the engine with scripted members, and through llm's
real CLI (`-u`, `llm logs`, `trace --json`, the one stderr line of a degraded run)."""

from __future__ import annotations

import json
import logging

import pytest
from local_plugin import LocalPlugin, local_models

from llm_consortium.engine import run
from llm_consortium.engine.status import decide
from llm_consortium.types import Call

from helpers import ProviderError, Scripted, llm_run, llm_subprocess, ok, registered, save, settings, verdict
from loopback import NO_RETRY, error, reply, tagged_verdict


@pytest.mark.asyncio
async def test_a_clean_run_is_complete():
    arbiter = Scripted("judge", verdict("Paris"))
    result = await run(Call("q"), [Scripted("a", "Paris").participant(), Scripted("b", "Lyon").participant()],
                       arbiter.participant(), settings())
    assert (result.status, result.degraded, result.failed_members, result.warning) == ("complete", [], [], None)
    assert result.trace()["status"] == "complete"


@pytest.mark.asyncio
async def test_a_member_that_fails_makes_the_run_partial_and_names_it():
    # Today's main: the vote goes on without the member, the trace knows, nothing says so.
    members = [Scripted("a", "Paris").participant(), Scripted("bad", ProviderError(500, "boom")).participant()]
    result = await run(Call("q"), members, Scripted("judge", verdict("Paris")).participant(), settings())
    assert result.status == "partial"
    assert [(f["member"], f["round"]) for f in result.failed_members] == [("bad", 1)]
    assert "boom" in result.failed_members[0]["error"]
    assert result.degraded == [f"round 1: 1 of 2 members answered (bad: {result.failed_members[0]['error']})"]
    assert result.warning == f"partial: bad failed in round 1 ({result.failed_members[0]['error']})"


@pytest.mark.asyncio
async def test_a_budget_stop_is_stopped():
    members = [Scripted("a", "Paris"), Scripted("b", "Lyon")]
    arbiter = Scripted("judge", verdict("Draft", 0.3, True), verdict("Final", 0.9), tokens=(100, 20))
    result = await run(Call("q"), [m.participant() for m in members], arbiter.participant(), settings(budget_tokens=200))
    assert result.status == "stopped" and result.degraded == [result.stopped]
    assert result.warning is None  # the engine warned as it stopped: one line, not two


@pytest.mark.asyncio
async def test_an_arbiter_that_fails_and_a_vote_that_decides_is_a_fallback():
    members = [Scripted("a", "Paris").participant(), Scripted("b", "Paris").participant(), Scripted("c", "Lyon").participant()]
    arbiter = Scripted("judge", ProviderError(500, "judge down"))
    result = await run(Call("q"), members, arbiter.participant(), settings(skip_arbiter_on_agreement=False))
    assert result.status == "fallback" and result.text == "Paris"
    assert result.degraded[0].startswith("round 1: the arbiter failed (") and "the members' vote decided" in result.degraded[0]


@pytest.mark.asyncio
async def test_unknown_confidence_is_listed_without_claiming_more():
    arbiter = Scripted("judge", "An untagged reply.")
    result = await run(Call("q"), [Scripted("a", "x").participant()], arbiter.participant(), settings(max_iterations=2))
    assert result.confidence is None and result.status == "complete"
    assert result.degraded == ["the arbiter stated no readable confidence, so no threshold judged the answer"]


def test_the_worst_fact_names_the_run_and_every_fact_is_listed():
    rounds = [
        {"round": 1, "members": [{"model": "a", "instance": 2, "error": "timed out after 5s"}, {"model": "b", "text": "x"}]},
        {"round": 2, "members": [{"model": "b", "text": "x"}], "arbiter": {"error": "HTTP 500"}, "fallback": {"kept": "round", "round": 1}},
    ]
    facts = decide(rounds, stopped=None, confidence=0.5)  # type: ignore[arg-type]
    assert facts.status == "fallback"
    assert facts.degraded == [
        "round 2: the arbiter failed (HTTP 500); an earlier round's answer was kept",
        "round 1: 1 of 2 members answered (a#2: timed out after 5s)",
    ]
    assert decide(rounds, stopped="budget: x", confidence=0.5).status == "stopped"  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_usage_a_member_did_not_report_is_unknown_not_zero():
    silent = Scripted("silent", "Paris", tokens=(None, None))  # type: ignore[arg-type]
    result = await run(Call("q"), [silent.participant(), Scripted("a", "Paris").participant()], None, settings())
    assert result.usage["input"] is None and result.usage["output"] is None
    assert result.usage["per_model"]["silent"]["input"] is None
    assert result.usage["per_model"]["a"]["input"] == 10  # what was reported stays


# ------------------------------------------------------------------ through llm's CLI


def test_a_degraded_run_prints_one_line_on_stderr_and_the_answer_alone_on_stdout(loopback, openai_models, user_path):
    # Today's main: exit 0, the answer, and nothing at all on stderr.
    openai_models(["alpha", "broken", "judge"])
    loopback.script("broken", error(500, "upstream exploded", NO_RETRY))
    loopback.script("judge", reply(tagged_verdict("Paris", 0.9)))
    save("shaky", ["alpha", "broken"], retries=0)
    result = llm_subprocess(user_path, "-m", "shaky", "Capital of France?", "-u")
    assert result.returncode == 0
    assert result.stdout == "Paris\n"
    usage = [line for line in result.stderr.splitlines() if line.startswith("Token usage:")]
    assert len(usage) == 1 and '"status": "partial"' in usage[0]  # -u carries the status
    lines = [line for line in result.stderr.splitlines() if not line.startswith("Token usage:")]
    assert len(lines) == 1, result.stderr
    assert lines == ["Consortium shaky: partial: broken failed in round 1 (Error code: 500 - upstream exploded)"]
    trace = json.loads(ok("trace", "--json").stdout)
    assert trace["status"] == "partial"
    assert [f["member"] for f in trace["failed_members"]] == ["broken"]


def test_unknown_usage_is_not_shown_or_logged_as_zero(user_path):
    # `local` reports no token usage. Today's main: "Token usage: 0 input, 0 output"
    # and 0 in the logs, while the member's own entry says null.
    with registered(LocalPlugin(local_models()), "local-plugin"):
        save("quiet", ["local"], arbiter=None)
        result = llm_run("-m", "quiet", "hello", "-u")
        assert result.exit_code == 0, result.output
        usage = [line for line in result.stderr.splitlines() if line.startswith("Token usage:")]
        assert usage and "0 input" not in usage[0] and "0 output" not in usage[0]
        logged = json.loads(llm_run("logs", "-n", "1", "--json").stdout)[0]
        assert logged["input_tokens"] is None and logged["output_tokens"] is None
        trace = json.loads(ok("trace", "--json").stdout)
        assert trace["usage"]["input"] is None and trace["usage"]["output"] is None


def test_a_complete_run_prints_nothing_on_stderr(loopback, openai_models, caplog):
    openai_models(["alpha", "judge"])
    loopback.script("judge", reply(tagged_verdict("Paris", 0.9)))
    save("calm", ["alpha"])
    with caplog.at_level(logging.WARNING):
        result = llm_run("-m", "calm", "q")
    assert result.exit_code == 0 and result.stderr == "" and caplog.records == []


@pytest.mark.asyncio
async def test_a_run_both_partial_and_fallback_names_both_causes_and_never_calls_a_member_failure_fallback():
    members = [Scripted("a", "Paris").participant(), Scripted("b", "Paris").participant(),
               Scripted("broken", ProviderError(500, "boom")).participant()]
    arbiter = Scripted("judge", ProviderError(500, "judge down"))
    result = await run(Call("q"), members, arbiter.participant(), settings(skip_arbiter_on_agreement=False))
    assert result.status == "fallback"  # the worst names the run
    error = result.failed_members[0]["error"]
    assert result.warning == f"partial, fallback: broken failed in round 1 ({error})"


@pytest.mark.asyncio
async def test_the_vote_line_shows_the_share_of_the_answers_and_of_the_panel_as_the_rounds_confidence():
    from llm_consortium.history.logged_runs import Run
    from llm_consortium.render import trace_text

    members = [Scripted("a", "Paris").participant(), Scripted("b", "Paris").participant(),
               Scripted("broken", ProviderError(500, "boom")).participant()]
    result = await run(Call("q"), members, None, settings(strategy="vote", max_iterations=1))
    assert result.confidence == pytest.approx(2 / 3)
    shown = trace_text.render(Run("01X", "2025-01-01T00:00:00", 10, 1, 1, "q", result.text, result.trace()))
    assert "Vote 2 of 2 answers (same text): a, b" in shown
    assert "Vote: 2 of 2 answers, 2 of 3 of the panel → confidence 0.67" in shown
    assert "confidence 0.67" in shown.splitlines()[1] and "1.00" not in shown

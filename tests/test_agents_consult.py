"""A consult that fails still says what it spent: the engine's failure carries the
calls, tokens, cost and failed members of the run, and both entry points (the MCP
server and the `Consortium` tool) report them. Run through llm's real OpenAI plugin
against the loopback server, as an agent's consult runs.
"""

from __future__ import annotations

import pytest

from llm_consortium.agents.consult import Request, consult_async, consult_sync
from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call

from helpers import Scripted, ok, save, settings
from loopback import NO_RETRY, error

OBJECT = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


@pytest.mark.asyncio
async def test_the_engines_failure_carries_what_the_run_spent():
    members = [Scripted("alpha", RuntimeError("HTTP 500"), tokens=(0, 0)), Scripted("beta", "not a number")]
    prices = {"alpha": (1.0, 1.0), "beta": (1.0, 1.0), "judge": (1.0, 1.0)}
    with pytest.raises(ConsortiumFailed) as info:
        await run(Call("q", schema=OBJECT), [m.participant() for m in members], Scripted("judge").participant(),
                  settings(prices=prices))
    failed = info.value
    assert failed.rounds == 1 and [f["member"] for f in failed.failed_members or []] == ["alpha", "beta"]
    assert failed.usage is not None and failed.usage["per_model"]["beta"]["calls"] == 1
    assert (failed.usage["input"], failed.usage["output"]) == (10, 5)  # beta's rejected answer was paid for
    assert failed.usage["cost_usd"] == pytest.approx(15 / 1e6)


@pytest.fixture
def priced(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    for model in ("alpha", "beta", "judge"):
        ok("prices", "set", model, "1", "1")
    return loopback


@pytest.mark.asyncio
async def test_a_consult_whose_members_all_fail_reports_calls_and_failed_members(priced):
    priced.script("alpha", error(500, "alpha is down", NO_RETRY))
    priced.script("beta", error(500, "beta is down", NO_RETRY))
    save("down", ["alpha", "beta"], retries=0)
    result = await consult_async(Request("down", "q"))
    assert (result.status, result.answer, result.rounds, result.calls, result.requests) == ("failed", None, 1, 2, 2)
    assert [(f["member"], f["error"]) for f in result.failed_members] == [
        ("alpha", "Error code: 500 - alpha is down"), ("beta", "Error code: 500 - beta is down")]
    assert (result.input_tokens, result.output_tokens, result.cost_usd) == (0, 0, 0.0)  # priced: nothing billed
    assert result.run_id is None  # llm logs no prompt that failed
    assert "Spent: 1 round, 2 calls, 0 input + 0 output tokens, $0.0000" in result.as_text()


def test_a_consult_whose_answers_the_schema_rejects_reports_their_cost(priced):
    save("strict", ["alpha", "beta"], retries=0)
    result = consult_sync(Request("strict", "q", schema=OBJECT))  # the Consortium tool's path
    assert (result.status, result.calls) == ("failed", 2)
    assert all("does not match the schema" in f["error"] for f in result.failed_members)
    assert result.input_tokens and result.output_tokens  # the echoed answers were completed, and priced
    assert result.cost_usd == pytest.approx((result.input_tokens + result.output_tokens) / 1e6)
    assert len(priced.requests) == 2 and not priced.requests_for("judge")


def test_a_runs_failure_text_keeps_one_line_per_fact(priced):
    """The result text an agent's model reads: the error once, the spending after it."""
    priced.script("alpha", error(500, "alpha is down", NO_RETRY))
    save("lone", ["alpha"], retries=0)
    text = consult_sync(Request("lone", "q")).as_text().splitlines()
    assert text[0] == "Consortium 'lone': status failed"
    assert text[1].startswith("Error: Consortium 'lone' failed: No usable answer") and "alpha is down" in text[1]
    assert text[2:] == ["Spent: 1 round, 1 call, 0 input + 0 output tokens, $0.0000"]


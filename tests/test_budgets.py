"""A budget is a hard limit (docs/savings.md#budgets): every call is checked before
it is made, the first round's included, from the prompts that will really be sent
(refinement prompts are longer than the first); a run that cannot start fails in one
line before any call; a budget stop never votes on fewer than `min_members` answers.

The engine tests use members whose usage counts words, as the loopback server does,
so what a prompt costs grows with the prompt."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from llm_consortium.calls import costs
from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call, Reply

from helpers import Scripted, llm_subprocess, save, settings, verdict
from loopback import reply


class Words(Scripted):
    """A scripted model whose usage is the words it read and wrote."""

    async def __call__(self, call: Call) -> Reply:
        answer = await super().__call__(call)
        read = len(f"{call.system or ''} {call.prompt}".split())
        return Reply(answer.text, read, len(answer.text.split()))


def spent(result_or_error) -> int:
    usage = result_or_error.usage
    return usage["input"] + usage["output"]


def largest_reply(*models: Words) -> int:
    return max((len(str(step).split()) for m in models for step in m.steps if isinstance(step, str)), default=0)


# ------------------------------------------------------------------ the first call is checked too


@pytest.mark.asyncio
async def test_a_run_that_cannot_start_within_its_budget_fails_before_any_call():
    members = [Words("a", "Paris"), Words("b", "Paris")]
    question = "What is the capital of France? Answer in one word, please, and nothing else."
    with pytest.raises(ConsortiumFailed) as failed:
        await run(Call(question), [m.participant() for m in members], None, settings(budget_tokens=10))
    message = str(failed.value)
    assert message.startswith("No answer: budget: ") and "token budget of 10" in message
    assert "no call was made" in message and "\n" not in message
    assert [len(m.calls) for m in members] == [0, 0]


@pytest.mark.asyncio
async def test_a_tiny_money_budget_fails_before_any_call():
    member = Words("a", "Paris")
    chosen = settings(budget_usd=1e-300, prices={"a": (1.0, 1.0)})
    with pytest.raises(ConsortiumFailed, match=r"budget of \$1e-300"):
        await run(Call("What is the capital of France?"), [member.participant()], None, chosen)
    assert member.calls == []


@pytest.mark.asyncio
async def test_the_arbiters_first_call_is_checked_and_a_stop_answers_with_the_members_vote():
    members = [Words("a", "Paris"), Words("b", "Paris"), Words("c", "Lyon")]
    arbiter = Words("judge", verdict("Judged", 0.9))
    # The members' calls fit; the arbiter's prompt (every answer, the instructions) does not.
    result = await run(Call("capital of France?"), [m.participant() for m in members], arbiter.participant(),
                       settings(budget_tokens=60))
    assert arbiter.calls == [] and result.text == "Paris"
    assert result.stopped is not None and "the arbiter's call" in result.stopped
    assert result.confidence == pytest.approx(2 / 3)
    assert spent(result) <= 60


@pytest.mark.asyncio
async def test_refinement_prompts_are_estimated_as_sent_so_a_second_round_never_passes_the_budget():
    members = [Words("a", "Paris is the capital"), Words("b", "Lyon is the capital")]
    arbiter = Words("judge", verdict("A first draft", 0.2, True, "be exact"), verdict("Final", 0.9))
    first = await run(Call("capital of France?"), [m.participant() for m in members], arbiter.participant(),
                      settings(max_iterations=1))
    # Room for round 2 if its calls cost what round 1's did; refinement prompts are
    # several times longer, so they do not all fit.
    rows = first.usage["per_model"]
    budget = spent(first) + sum(row["input"] + row["output"] for row in rows.values()) + 5
    for m in (*members, arbiter):
        m.calls.clear()
    result = await run(Call("capital of France?"), [m.participant() for m in members], arbiter.participant(),
                       settings(budget_tokens=budget, max_iterations=3))
    assert "token budget" in (result.stopped or "")
    assert spent(result) <= budget
    assert [len(m.calls) for m in members] == [2, 2] and len(arbiter.calls) == 1  # round 2's arbiter refused


@pytest.mark.asyncio
async def test_a_budget_stop_never_votes_on_fewer_than_min_members():
    cheap, broken = Words("cheap", "Paris"), Words("broken", RuntimeError("down"))
    strong = Words("strong", "Paris")
    members = [cheap.participant(), broken.participant(), dataclasses.replace(strong.participant(), tier=2)]
    chosen = settings(budget_usd=0.000001, prices={"cheap": (0.0, 0.0), "broken": (0.0, 0.0), "strong": (1e3, 1e3),
                                                   "judge": (1.0, 1.0)}, min_members=2)
    with pytest.raises(ConsortiumFailed, match=r"only 1 of 3 members had answered .*at least 2 needed"):
        await run(Call("capital of France?"), members, None, chosen)
    assert strong.calls == []


# ------------------------------------------------------------------ the bound, as a property


@pytest.mark.asyncio
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    budget=st.integers(min_value=0, max_value=3000),
    answers=st.lists(st.text(alphabet="abc ", min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=4),
    again=st.booleans(),
)
async def test_spending_never_passes_the_budget_by_more_than_one_reply(budget, answers, again):
    members = [Words(f"m{i}", text) for i, text in enumerate(answers)]
    arbiter = Words("judge", verdict("Draft answer here", 0.3, again, "more"), verdict("Final", 0.9))
    try:
        outcome = await run(Call("What is the answer to the question?"), [m.participant() for m in members],
                            arbiter.participant(), settings(budget_tokens=budget))
    except ConsortiumFailed as failed:
        outcome = failed
    assert spent(outcome) <= budget + largest_reply(*members, arbiter)


def test_a_call_is_expected_to_cost_its_prompt_at_the_runs_own_rate():
    sent = costs.Sent()
    assert sent.expected("a", 300) == (100.0, 100.0)  # nothing heard yet: 1/3 token a char, a reply as long
    sent.add("a", 400, 100, 7)
    assert sent.expected("a", 800) == (200.0, 7.0)  # its own rate and its longest reply
    assert sent.expected("b", 80) == (20.0, 7.0)  # another model: the run's rate and longest reply
    planned = [("a", 200.0, 7.0)]
    assert costs.over_budget(planned, {"a": {"calls": 1, "input": 100, "output": 7}}, {}, 314, None) is None
    reason = costs.over_budget(planned, {"a": {"calls": 1, "input": 100, "output": 7}}, {}, 313, None)
    assert reason is not None and "token budget of 313 (107 spent, about 207 more expected)" in reason


# ------------------------------------------------------------------ through llm


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["cheap1", "cheap2", "judge"])
    return "panel"


def test_a_budget_too_small_for_the_first_round_is_one_line_and_no_request(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge")
    done = llm_subprocess(user_path, "-m", panel, "-o", "budget_tokens", "10", "What is 2+2?")
    assert done.returncode != 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "token budget of 10" in lines[0] and "no call was made" in lines[0]
    assert loopback.requests_for("cheap1") == [] and loopback.requests_for("judge") == []


def test_a_token_budget_is_never_passed_on_the_loopback_server(panel, loopback, user_path):
    save(panel, ["cheap1", "cheap2"], "judge", max_iterations=3)
    loopback.script("cheap1", reply("four"))
    loopback.script("cheap2", reply("five"))
    loopback.script("judge", reply(verdict("A first draft", 0.2, True, "be exact")))
    for budget in (60, 900):
        done = llm_subprocess(user_path, "-m", panel, "-u", "-o", "budget_tokens", str(budget), "What is 2+2?")
        assert done.returncode == 0 and done.stdout == "four\n"
        warning, usage = done.stderr.strip().splitlines()
        assert "stopped for the budget: the arbiter's call (1 call) could pass" in warning
        used = re.match(r"Token usage: (\d+) input, (\d+) output", usage)
        assert used is not None and int(used[1]) + int(used[2]) <= budget
    assert len(loopback.requests_for("judge")) == 1  # at 900: round 1's, not round 2's

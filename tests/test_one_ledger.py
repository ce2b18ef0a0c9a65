"""Every model call a run makes goes through one path (issue 40): the matcher's calls
(`judge`, `semantic`) are priced, afforded before they are made, booked in the run's
usage and traced like a member's; usage a model does not report is counted at its
estimate by a token budget, never as nothing; `semantic` embeds answers cut to the
per-answer cap of every prompt built from model text."""

from __future__ import annotations

import pytest

from llm_consortium.adapter.model_matchers import JudgeMatcher, SemanticMatcher
from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.text.cuts import ANSWER_CHARS
from llm_consortium.types import Call, Reply

from helpers import Scripted, llm_subprocess, ok, save, settings, verdict
from loopback import reply

PRICES = {"a": (1e4, 1e4), "b": (1e4, 1e4), "c": (1e4, 1e4), "grouper": (1e4, 1e4)}  # $0.01 a token


def usd(result) -> float:
    return sum((row["input"] + row["output"]) * 1e4 / 1e6 for row in result.usage["per_model"].values())


def split_panel():
    """Three members that never agree on a wording (`auto` keeps them apart), so a
    vote asks the judge in every round."""
    return [Scripted(name, f"I think it is {text}") for name, text in (("a", "twelve"), ("b", "12"), ("c", "XII"))]


def judge_matcher(grouper: Scripted) -> JudgeMatcher:
    return JudgeMatcher(grouper.participant(), timeout=5, retries=0)


async def judged_vote(budget_usd: float):
    """A split three-member vote grouped by a judge, under a money budget: (result, grouper)."""
    members, grouper = split_panel(), Scripted("grouper", "GROUPS: 1; 2; 3")
    chosen = settings(strategy="vote", budget_usd=budget_usd, prices=PRICES, matcher=judge_matcher(grouper),
                      max_iterations=3)
    return await run(Call("What is 7 + 5?"), [m.participant() for m in members], None, chosen), grouper


# ------------------------------------------------------------ 1. a money budget bounds the matcher too


@pytest.mark.asyncio
async def test_a_money_budget_refuses_to_start_without_the_matching_models_price():
    members, grouper = split_panel(), Scripted("grouper", "GROUPS: 1,2,3")
    prices = {k: v for k, v in PRICES.items() if k != "grouper"}
    chosen = settings(strategy="vote", budget_usd=0.5, prices=prices, matcher=judge_matcher(grouper))
    with pytest.raises(ConsortiumFailed, match=r"needs a price for every model the run may call; none is set for grouper"):
        await run(Call("What is 7 + 5?"), [m.participant() for m in members], None, chosen)
    assert [len(m.calls) for m in [*members, grouper]] == [0, 0, 0, 0]


@pytest.mark.asyncio
async def test_the_matching_judges_call_is_checked_before_it_is_made_and_counted_in_the_cost():
    # Each member call costs 15 tokens ($0.15); the judge's prompt holds every answer,
    # so after three members ($0.45) a $0.50 budget cannot afford it.
    result, grouper = await judged_vote(0.5)
    assert grouper.calls == []
    assert any("the matching judge grouper could not group the answers (not made: the matching judge's call"
               in note and "grouped by auto" in note for note in result.notes)
    assert usd(result) <= 0.5 and result.usage["cost_usd"] == pytest.approx(usd(result))
    assert result.stopped is not None


@pytest.mark.asyncio
async def test_with_room_for_the_judge_its_calls_are_priced_booked_and_traced():
    result, grouper = await judged_vote(100.0)
    assert len(grouper.calls) >= 1
    assert result.usage["per_model"]["grouper"]["calls"] == len(grouper.calls)
    assert result.usage["cost_usd"] == pytest.approx(usd(result)) and usd(result) <= 100
    traced = [call for r in result.rounds for call in r.get("matching", [])]
    assert [call["model"] for call in traced] == ["grouper"] * len(grouper.calls)
    assert traced[0]["text"] == "GROUPS: 1; 2; 3" and traced[0]["usage"] == {"input": 10, "output": 5}
    from llm_consortium.history.logged_runs import Run
    from llm_consortium.render import trace_text

    shown = trace_text.render(Run("01X", "2025-01-01T00:00:00", 10, 1, 1, "q", result.text, result.trace()))
    assert "  Matching grouper  " in shown and "10 in / 5 out" in shown


# ------------------------------------------------------------ 2. unknown usage is counted at its estimate


class Unreported(Scripted):
    """A local model: answers, says nothing of the tokens it used; `read` and
    `written` count what it really did, in words, for the test to compare."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spent = 0

    async def __call__(self, call: Call) -> Reply:
        answer = await super().__call__(call)
        self.spent += len(f"{call.system or ''} {call.prompt}".split()) + len(answer.text.split())
        return Reply(answer.text, None, None)


@pytest.mark.asyncio
async def test_a_token_budget_counts_models_that_report_no_usage_and_the_trace_says_so():
    members = [Unreported("a", "Paris is the capital of France"), Unreported("b", "Lyon, I believe")]
    arbiter = Unreported("judge", verdict("A first draft of the answer", 0.2, True, "be exact"))
    chosen = settings(budget_tokens=4000, max_iterations=4)
    result = await run(Call("What is the capital of France?"), [m.participant() for m in members],
                       arbiter.participant(), chosen)
    assert len(arbiter.calls) < 4 and "token budget of 4,000" in (result.stopped or "")
    assert sum(m.spent for m in (*members, arbiter)) <= 4000
    assert result.usage["input"] is None and result.usage["output"] is None  # the reported usage stays unknown
    assert set(result.usage["estimated"]) == {"a", "b", "judge"}
    assert any("a reported no token usage" in note and "estimate" in note for note in result.notes)


@pytest.mark.asyncio
async def test_without_a_budget_nothing_is_estimated():
    members = [Unreported("a", "Paris"), Unreported("b", "Paris")]
    result = await run(Call("capital?"), [m.participant() for m in members], None, settings(strategy="vote"))
    assert "estimated" not in result.usage and not any("estimate" in note for note in result.notes)


# ------------------------------------------------------------ 3. semantic embeds answers cut to the cap


class Recorder:
    model_id = "recorder"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def embed_multi(self, texts):
        self.sent.extend(texts)
        return [[1.0, float(i)] for i, _ in enumerate(texts)]


@pytest.mark.asyncio
async def test_semantic_matching_embeds_each_answer_cut_to_the_per_answer_cap():
    model = Recorder()
    members = [Scripted("a", "1" * 1_999_999), Scripted("b", "2" * 500)]
    chosen = settings(strategy="vote", max_iterations=1, matcher=SemanticMatcher(model, timeout=5, retries=0))
    await run(Call("Write digits"), [m.participant() for m in members], None, chosen)
    assert [len(text) for text in model.sent] == [ANSWER_CHARS, 500]


# ------------------------------------------------------------ through llm


def test_a_money_budget_with_an_unpriced_matching_judge_is_one_line_naming_it(loopback, openai_models, user_path):
    openai_models(["alpha", "beta", "grouper"])
    save("judged", ["alpha", "beta"], arbiter=None, matching="judge", matching_model="grouper")
    for model in ("alpha", "beta"):
        ok("prices", "set", model, "1", "1")
    loopback.script("alpha", reply("12"))
    done = llm_subprocess(user_path, "-m", "judged", "-o", "budget_usd", "0.5", "What is 7 + 5?")
    assert done.returncode != 0 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "needs a price for every model it may call; none is set for grouper" in line
    assert loopback.requests_for("alpha") == []

"""The eval runner with scripted members whose right and wrong answers per item are
known in advance: every figure of the report is checked exactly."""

from __future__ import annotations

import re

import pytest
from test_eval_paired import newcombe_by_hand

from llm_consortium.evaluation import figures, stats
from llm_consortium.evaluation.dataset import Item
from llm_consortium.evaluation.judge_scoring import Scoring
from llm_consortium.evaluation.result_store import ResultStore
from llm_consortium.evaluation.runner import Entrant, Plan, Runner

from helpers import Scripted, settings, verdict

ITEMS = [Item(n - 1, n, f"item-{n}: which number?", str(n)) for n in range(1, 6)]
# (round 1 synthesis, confidence), (round 2 ...) per item: item 2 flips right->wrong,
# item 3 wrong->right; items 1, 4, 5 stop after round 1.
ARBITER = {
    1: [("1", 0.9)],
    2: [("2", 0.5), ("7", 0.8)],
    3: [("9", 0.4), ("3", 0.95)],
    4: [("4", 0.75)],
    5: [("8", 0.85)],
}


def number(call) -> int:
    return int(re.search(r"item-(\d)", call.prompt).group(1))


def judge(call):
    n = number(call)
    round_number = int(re.search(r"This is round (\d)", call.prompt).group(1))
    synthesis, confidence = ARBITER[n][round_number - 1]
    return verdict(synthesis, confidence)


def scripted():
    a = Scripted("a", lambda call: str(number(call)) if number(call) <= 4 else "wrong", tokens=(10, 5))
    b = Scripted("b", lambda call: str(number(call)) if number(call) <= 2 else "nope", tokens=(20, 7))
    arbiter = Scripted("judge", judge, tokens=(100, 30))
    base = Scripted("base", lambda call: str(number(call)) if number(call) <= 2 else "zero", tokens=(3, 1))
    return a, b, arbiter, base


def plan(a, b, arbiter, base, include_members=True, baseline=True):
    trio = Entrant("trio", [a.participant(), b.participant()], arbiter.participant(), settings(max_iterations=2, skip_arbiter_on_agreement=False),
                   baseline=base.participant() if baseline else None, identity="trio")
    return Plan([trio], include_members=include_members)


def runner(p, store=None, resume=False, scoring=None):
    return Runner(p, settings_key="s", scoring=scoring or Scoring("exact"), store=store,
                  resume=resume, parallel=3)


SYSTEMS = [s.as_dict() for s in plan(*scripted()).systems()]
PRICES = {"a": (1.0, 2.0), "b": (3.0, 4.0), "judge": (10.0, 20.0), "base": (0.5, 0.5)}


@pytest.mark.asyncio
async def test_every_figure_of_the_report():
    a, b, arbiter, base = scripted()
    rows = await runner(plan(a, b, arbiter, base)).run(ITEMS)
    built = figures.build(consortiums=["trio"], dataset="d.jsonl", items=5, systems=SYSTEMS, rows=rows, prices=PRICES)
    consortium, alone_a, alone_b, baseline = built["systems"]

    assert [(s["correct"], s["total"]) for s in built["systems"]] == [(3, 5), (4, 5), (2, 5), (2, 5)]
    assert [s["accuracy"] for s in built["systems"]] == [0.6, 0.8, 0.4, 0.4]
    assert consortium["ci95"] == pytest.approx([0.2307, 0.8824], abs=1e-4)
    assert alone_a["ci95"] == pytest.approx([0.3755, 0.9638], abs=1e-4)
    assert baseline["ci95"] == pytest.approx([0.1176, 0.7693], abs=1e-4)
    assert [s["errors"] for s in built["systems"]] == [0, 0, 0, 0]

    # rounds per item: 1, 2, 2, 1, 1 -> 7 rounds of two members and the arbiter
    assert (consortium["calls"], consortium["input_tokens"], consortium["output_tokens"]) == (
        21, 7 * 10 + 7 * 20 + 7 * 100, 7 * 5 + 7 * 7 + 7 * 30
    )
    assert (alone_a["calls"], alone_a["input_tokens"], alone_a["output_tokens"]) == (5, 50, 25)
    assert (alone_b["calls"], alone_b["input_tokens"], alone_b["output_tokens"]) == (5, 100, 35)
    # the baseline is sampled as often as the consortium called members: 2+4+4+2+2
    assert (baseline["calls"], baseline["input_tokens"], baseline["output_tokens"]) == (14, 42, 14)
    assert len(base.calls) == 14
    assert [r["samples"] for r in rows if r["kind"] == "baseline"] == [2, 4, 4, 2, 2]

    assert consortium["cost"] == pytest.approx((70 * 1 + 35 * 2 + 140 * 3 + 49 * 4 + 700 * 10 + 210 * 20) / 1e6)
    assert alone_a["cost"] == pytest.approx((50 * 1 + 25 * 2) / 1e6)
    assert baseline["cost"] == pytest.approx((42 + 14) * 0.5 / 1e6)

    latencies = [r["latency_ms"] for r in rows if r["kind"] == "consortium"]
    assert consortium["latency_ms_p50"] == stats.percentile(latencies, 50)
    assert consortium["latency_ms_p95"] == max(latencies)
    # nothing is gated here: no call waited, so a system's own time is its whole time
    assert all(r["wait_ms"] == 0 and r["own_ms"] == r["latency_ms"] for r in rows)

    assert consortium["flips"] == {"right_to_wrong": 1, "wrong_to_right": 1}
    assert consortium["final_rounds"] == {"1": 3, "2": 2}
    calibration = consortium["calibration"]
    assert calibration["ece"] == pytest.approx(1 / 5 * 0.25 + 2 / 5 * 0.825 + 2 / 5 * 0.075)
    assert [(b["count"], b["accuracy"]) for b in calibration["bins"][7:]] == [(1, 1.0), (2, 0.0), (2, 1.0)]
    assert [b["confidence"] for b in calibration["bins"][7:]] == pytest.approx([0.75, 0.825, 0.925])
    assert all(b["count"] == 0 for b in calibration["bins"][:7])

    # paired: the consortium is right on items 1, 3, 4; a alone on 1-4; the baseline on 1, 2
    against_a, against_base = built["comparisons"]
    assert (against_a["a"], against_a["b"], against_a["items"]) == ("consortium:trio", "member:a", 5)
    assert (against_a["discordant"], against_a["difference"]) == ([0, 1], pytest.approx(-0.2))
    assert against_a["p_value"] == 1.0  # 2 * P(X <= 0), X ~ Bin(1, 1/2), capped at 1
    assert against_a["items_needed"] == 37  # (1.96 sqrt(.2) + 0.8416 sqrt(.2 - .04))^2 / .2^2 = 36.8
    assert (against_base["b"], against_base["discordant"], against_base["p_value"]) == ("baseline:trio", [2, 1], 1.0)
    assert against_base["items_needed"] == 116  # (1.96 sqrt(.6) + 0.8416 sqrt(.56))^2 / .2^2 = 115.4
    assert [c["result"] for c in built["comparisons"]] == ["not enough items to tell"] * 2
    assert against_a["ci95"] == pytest.approx(newcombe_by_hand(3, 0, 1, 1), abs=1e-12)
    assert against_base["ci95"] == pytest.approx(newcombe_by_hand(1, 2, 1, 1), abs=1e-12)
    low, high = against_a["ci95"]
    assert built["verdict"]["line"] == (
        f"Verdict: trio against the best member alone (a): -20.0 points [95% CI {low * 100:+.1f}, {high * 100:+.1f}], "
        "0 vs 1 discordant items, McNemar p = 1: not enough items to tell (about 37 items "
        "would show a difference this size); trio against the same-budget baseline (base): +20.0 points "
        f"[95% CI {against_base['ci95'][0] * 100:+.1f}, {against_base['ci95'][1] * 100:+.1f}], 2 vs 1 discordant "
        "items, McNemar p = 1: not enough items to tell (about 116 items would show a "
        "difference this size). trio cost 119.6x as much as a alone."
    )
    results = {(r["item"], r["kind"], r["name"]): r for r in built["results"]}
    assert results[(1, "consortium", "trio")]["rounds"] == [
        {"round": 1, "answer": "2", "correct": True}, {"round": 2, "answer": "7", "correct": False}
    ]
    assert results[(1, "consortium", "trio")]["final_round"] == 2
    assert figures.disagreements(built) == [1, 2, 3]  # item 5: all wrong


@pytest.mark.asyncio
async def test_a_failing_system_is_recorded_and_the_eval_goes_on():
    a, _, arbiter, base = scripted()
    broken = Scripted("b", RuntimeError("b is down"))
    p = plan(a, broken, arbiter, base)
    p.consortiums[0].settings.min_members = 2
    rows = await runner(p).run(ITEMS[:2])
    by = {(r["item"], r["kind"], r["name"]): r for r in rows}
    assert "b is down" in by[(0, "consortium", "trio")]["error"]
    assert by[(0, "consortium", "trio")]["correct"] is False
    assert "b is down" in by[(0, "member", "b")]["error"]
    assert by[(0, "member", "a")]["correct"] is True
    # the failed consortium leaves the baseline one round's worth of samples
    assert by[(0, "baseline", "base")]["samples"] == 2 and by[(0, "baseline", "base")]["correct"]


@pytest.mark.asyncio
async def test_resume_reuses_every_stored_result(tmp_path):
    with ResultStore(tmp_path / "evals.db") as store:
        first = scripted()
        rows = await runner(plan(*first), store).run(ITEMS)
        assert store.count() == 20
        again = scripted()
        resumed = runner(plan(*again), store, resume=True)
        rows_again = await resumed.run(ITEMS)
    assert [len(s.calls) for s in again] == [0, 0, 0, 0]
    assert resumed.reused == 20
    assert rows_again == rows


@pytest.mark.asyncio
async def test_members_and_baseline_can_be_skipped():
    a, b, arbiter, base = scripted()
    p = plan(a, b, arbiter, base, include_members=False, baseline=False)
    rows = await runner(p).run(ITEMS[:1])
    assert [r["kind"] for r in rows] == ["consortium"]
    assert len(base.calls) == 0 and len(a.calls) == 1


@pytest.mark.asyncio
async def test_judge_scorer_counts_its_own_calls_and_caches_verdicts(tmp_path):
    a, b, arbiter, base = scripted()
    grader = Scripted("grader", lambda call: "VERDICT: CORRECT" if "\n1\n" in call.prompt.split("ANSWER")[1] else "VERDICT: INCORRECT",
                      tokens=(50, 3))
    with ResultStore(tmp_path / "evals.db") as store:
        scoring = Scoring("judge", judge=grader.participant(), settings=settings(), store=store)
        rows = await runner(plan(a, b, arbiter, base), store, scoring=scoring).run(ITEMS[:1])
        # item 1: every system answers "1": one distinct answer, judged once
        assert len(grader.calls) == 1 and all(r["correct"] for r in rows)
        assert scoring.usage.as_dict() == {"model": "grader", "calls": 1, "input_tokens": 50, "output_tokens": 3,
                                           "errors": 0, "usage": {"grader": {"calls": 1, "input": 50, "output": 3}}}
        again = Scoring("judge", judge=grader.participant(), settings=settings(), store=store, reuse=True)
        await runner(plan(*scripted()), store, resume=True, scoring=again).run(ITEMS[:1])
        assert len(grader.calls) == 1 and again.usage.calls == 1


@pytest.mark.asyncio
async def test_an_interrupted_eval_keeps_every_finished_result(tmp_path):
    """Ctrl-C cancels the run: results finished before it stay stored, and a resumed
    run calls models only for what was missing."""
    import asyncio

    hang = asyncio.get_running_loop().create_future()  # never set: item 2 never answers

    async def a_answer(call):
        if number(call) == 2:
            await hang
        return str(number(call))

    two_done = asyncio.Event()

    def progress(done, errors, tokens):
        if done == 2:
            two_done.set()

    _, b, arbiter, base = scripted()
    p = plan(Scripted("a", a_answer), b, arbiter, base)
    with ResultStore(tmp_path / "evals.db") as store:
        r = Runner(p, settings_key="s", scoring=Scoring("exact"), store=store, parallel=2,
                   progress=progress)
        task = asyncio.ensure_future(r.run(ITEMS[:3]))
        await two_done.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # items 1 and 3 complete (4 systems each); item 2 has only what did not wait on a
        assert store.count() == r.stored == 8 + 1  # item 2: member b alone finished
        again = scripted()
        await runner(plan(*again), store, resume=True).run(ITEMS[:3])
    # only item 2 ran again: the consortium, a alone and the baseline (b alone was stored)
    assert {number(call) for s in again for call in s.calls} == {2}
    # b alone was stored: b is asked item 2 as a plain prompt only once, by the consortium
    assert [call.prompt for call in again[1].calls].count("item-2: which number?") == 1


@pytest.mark.asyncio
async def test_resume_tries_failed_results_again(tmp_path):
    a, _, arbiter, base = scripted()
    p = plan(a, Scripted("b", RuntimeError("b is down")), arbiter, base)
    with ResultStore(tmp_path / "evals.db") as store:
        await runner(p, store).run(ITEMS[:1])
        again = scripted()
        resumed = runner(plan(*again), store, resume=True)
        rows = await resumed.run(ITEMS[:1])
    # the consortium (a answered for it), a alone and the baseline are reused; b alone
    # failed and is the only system that runs again
    assert resumed.reused == 3 and len(again[0].calls) == 0
    assert [call.prompt for call in again[1].calls] == ["item-1: which number?"]
    assert all(row["error"] is None and row["correct"] for row in rows)


@pytest.mark.asyncio
async def test_a_vote_consortium_flips_on_its_winning_answers():
    """Without an arbiter each round's answer is the vote's winner: here "1" wins
    round 1 on a tie (earlier member), then both members say "2"."""
    a = Scripted("a", "1", "2")
    b = Scripted("b", "2", "2")
    p = Plan([Entrant("duo", [a.participant(), b.participant()], None, settings(max_iterations=2, strategy="vote"))],
             include_members=False)
    rows = await runner(p).run([Item(0, 1, "q", "1")])
    built = figures.build(consortiums=["duo"], dataset="d", items=1, systems=[s.as_dict() for s in p.systems()], rows=rows)
    assert [(r["answer"], r["correct"]) for r in rows[0]["rounds"]] == [("1", True), ("2", False)]
    assert built["systems"][0]["flips"] == {"right_to_wrong": 1, "wrong_to_right": 0}
    assert (rows[0]["answer"], rows[0]["final_round"], rows[0]["confidence"]) == ("2", 2, 1.0)
    assert built["systems"][0]["calibration"]["bins"][9] == {"low": 0.9, "high": 1.0, "count": 1, "confidence": 1.0, "accuracy": 0.0}

"""eval's figures mean what they say: an arbiter that failed and fell back shows per
item (JSON, table, HTML, a stderr warning naming the consortium and the item), copies
of a sync-only model taking turns are the consortium's own time, the sample-size
estimate is never below what the exact test needs, a failed judge's calls count,
costs come from calls/costs.py (the provider's own figure included), NaN is named,
and counts and small costs read right."""

from __future__ import annotations

import json
import re
import time

import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.errors import EmptyAnswer
from llm_consortium.evaluation import figures, paired_verdict, report_html, stats, table
from llm_consortium.evaluation.judge_scoring import Scoring
from llm_consortium.evaluation.trace_results import from_trace, waited_ms

from helpers import Scripted, parse_page, save, settings
from loopback import error, last_user_text, reply

OVERFLOW = "This model's maximum context length is 512 tokens. However, your messages resulted in 739 tokens."


def invoke(*args):
    return CliRunner().invoke(cli, ["consortiums", "eval", *map(str, args)])


# ------------------------------------------------------------------ the arbiter that fell back


@pytest.fixture
def smol(loopback, openai_models, tmp_path):
    """Two members and an arbiter whose context window every judging prompt overflows."""
    openai_models(["alpha", "beta", "tiny"])
    save("smol", ["alpha", "beta"], arbiter="tiny", skip_arbiter_on_agreement=False)
    loopback.script("alpha", reply(lambda body: "4" if "2+2" in last_user_text(body) else "6"))
    loopback.script("beta", reply(lambda body: "4" if "2+2" in last_user_text(body) else "7"))
    loopback.script("tiny", error(400, OVERFLOW, code="context_length_exceeded"))
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"prompt": "What is 2+2?", "expected": "4"}) + "\n"
                    + json.dumps({"prompt": "What is 3+3?", "expected": "6"}) + "\n")
    return path


def test_an_arbiter_that_fell_back_is_counted_per_item_everywhere_and_named_on_stderr(smol, loopback, tmp_path):
    page = tmp_path / "report.html"
    result = invoke("smol", smol, "--json", "--no-baseline", "--html", page)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    consortium = data["systems"][0]
    assert consortium["arbiter_fallbacks"] == {"items": 2, "rounds": 2, "lines": [1, 2]}
    rows = [r for r in data["results"] if r["kind"] == "consortium"]
    assert [[(f["round"], f["kept"]) for f in r["arbiter_fallbacks"]] for r in rows] == [[(1, "vote")]] * 2
    assert all("maximum context length is 512" in r["arbiter_fallbacks"][0]["error"] for r in rows)
    assert not any("arbiter_fallbacks" in r for r in data["results"] if r["kind"] == "member")
    # stderr: one warning per item, each naming the consortium and the item
    warnings = result.stderr.splitlines()
    assert warnings[-1] == f"Wrote {page}"
    assert sorted(w.split(": round 1: ")[0] for w in warnings[:-1]) == [  # items run in parallel
        "Eval, consortium smol, item on line 1", "Eval, consortium smol, item on line 2"]
    assert all("context window (512 tokens) is smaller than the judging prompt (739)" in w for w in warnings[:-1])

    text = invoke("smol", smol, "--no-baseline", "--resume").stdout
    lines = text.splitlines()
    assert lines[2].endswith("fell back")
    assert lines[3].split()[0:2] == ["consortium", "smol"] and lines[3].split()[-1] == "2"
    assert lines[4].split()[-1] == "-"  # a member alone has no arbiter
    assert "The arbiter failed and the answer fell back: 2 rounds on 2 of 2 items (lines 1, 2)" in lines

    shown = "".join(parse_page(page).text)
    assert "Arbiter failures of smol" in shown
    assert "The arbiter failed and the answer fell back: 2 rounds on 2 of 2 items (lines 1, 2)." in shown
    assert shown.count("round 1: kept the members' vote; ") == 2


def test_warnings_outside_a_named_run_are_left_as_they_are():
    from llm_consortium.evaluation.bar import named

    assert named("Consortium: round 1: the arbiter failed", None) == "Consortium: round 1: the arbiter failed"
    assert named("Consortium: round 2: x", "member a, item on line 7") == "Eval, member a, item on line 7: round 2: x"


# ------------------------------------------------------------------ own time and waiting


def serialized(count: int, each_ms: int, behind_ms: int = 0) -> dict:
    """A one-round trace of `count` copies of a sync-only model taking turns through
    its gate (one call at a time), the first after `behind_ms` behind another system."""
    members = [{"model": "local", "instance": n + 1, "text": "4", "queued_ms": behind_ms + n * each_ms,
                "duration_ms": each_ms, "usage": {"input": None}} for n in range(count)]
    return {"text": "4", "confidence": 1.0, "final_round": 1,
            "usage": {"input": 0, "output": 0, "per_model": {"local": {"calls": count, "input": 0, "output": 0}}},
            "rounds": [{"round": 1, "members": members}]}


def test_copies_of_a_sync_only_model_taking_turns_are_own_time_not_waiting():
    assert waited_ms(serialized(5, 1000)) == 0  # five calls in a row: 5 s of its own work
    assert waited_ms(serialized(5, 1000, behind_ms=700)) == 700  # only the wait behind another system
    # times are rounded to the millisecond: a hand-over that seems to leave 1 ms is none
    handed = serialized(3, 20)
    handed["rounds"][0]["members"][1]["queued_ms"] = 21
    assert waited_ms(handed) == 0
    record = from_trace(serialized(5, 1000), time.monotonic() - 5.0)
    assert record["wait_ms"] == 0 and record["own_ms"] == record["latency_ms"]
    one = from_trace(serialized(1, 1000), time.monotonic() - 1.0)
    assert record["own_ms"] >= 4 * one["own_ms"]  # five calls' own time is not one call's


# ------------------------------------------------------------------ how many items would tell


def test_the_sample_size_is_never_below_what_the_exact_test_needs():
    five_to_none = stats.paired([True] * 5, [False] * 5)
    assert five_to_none.p_value == 0.0625  # not significant: 5 discordant items cannot be
    assert stats.items_needed(five_to_none) == 6  # Connor's formula alone says 4
    assert stats.fewest_discordant() == 6
    four_to_none = stats.paired([True] * 4, [False] * 4)
    assert stats.items_needed(four_to_none) == 6
    # half the items discordant, all one way: 6 discordant need 12 items
    half = stats.paired([True] * 5 + [False] * 5, [False] * 5 + [False] * 5)
    assert stats.items_needed(half) >= 12
    systems = [{"key": "consortium:c", "kind": "consortium", "name": "c", "of": ["c"], "correct": 5},
               {"key": "member:m", "kind": "member", "name": "m", "of": ["c"], "correct": 0}]
    rows = [{"system": key, "item": i, "correct": key.startswith("c")} for key in ("consortium:c", "member:m")
            for i in range(5)]
    found = paired_verdict.comparisons(systems, rows)
    assert found[0]["result"] == "not enough items to tell" and found[0]["items_needed"] == 6
    by_key = {s["key"]: s for s in systems}
    assert "(about 6 items would show a difference this size)" in paired_verdict.describe(found[0], by_key)


# ------------------------------------------------------------------ the judge's spending


@pytest.mark.asyncio
async def test_a_failed_judge_s_calls_are_counted():
    judge = Scripted("grader", EmptyAnswer("empty answer"))
    scoring = Scoring("judge", judge=judge.participant(), settings=settings(retries=0))
    correct, why = await scoring.score("q", "4", "4")
    assert not correct and why.startswith("judge: the judge failed: No usable answer")
    usage = scoring.usage.as_dict()
    assert (usage["calls"], usage["errors"]) == (1, 1)
    assert len(judge.calls) == 1


@pytest.mark.asyncio
async def test_a_judge_that_reports_no_usage_has_unknown_tokens_not_zero():
    judge = Scripted("grader", "VERDICT: CORRECT", tokens=(None, None))
    scoring = Scoring("judge", judge=judge.participant(), settings=settings(retries=0))
    assert await scoring.score("q", "4", "4") == (True, None)
    usage = scoring.usage.as_dict()
    assert (usage["calls"], usage["input_tokens"], usage["output_tokens"]) == (1, None, None)
    built = figures.build(consortiums=["c"], dataset="d", items=0, systems=[], rows=[], judge=usage,
                         prices={"grader": (1.0, 1.0)})
    assert built["judge"]["cost"] is None
    assert "Judge grader: 1 call, - input / - output tokens, cost -, 0 unreadable verdicts" in table.render(built)


# ------------------------------------------------------------------ cost: one implementation


def test_eval_cost_is_calls_costs_one_implementation_with_the_providers_own_figure():
    usage = {"m": {"calls": 1, "input": 10, "output": 5, "cost": 0.25}}
    assert figures.cost(usage, {}) == 0.25  # the provider's figure, even without a price table
    assert figures.cost(usage, {"m": (1.0, 1.0)}) == 0.25
    assert figures.cost({"m": {"calls": 1, "input": 10, "output": 5}}, {"m": (1.0, 2.0)}) == pytest.approx(20 / 1e6)
    assert figures.cost({"m": {"calls": 1, "input": None, "output": None}}, {"m": (1.0, 2.0)}) is None
    assert figures.cost({"m": {"calls": 1, "input": 10, "output": 5}}, {}) is None


# ------------------------------------------------------------------ NaN, counts, small costs


@pytest.mark.parametrize(("args", "message"), [
    (["--price", "alpha", "nan", "2"], "Error: --price alpha: NaN is not a price; give USD per million tokens\n"),
    (["--price", "alpha", "1", "inf"], "Error: --price alpha: infinity is not a price; give USD per million tokens\n"),
])
def test_a_nan_price_is_refused_naming_nan(smol, loopback, args, message):
    result = invoke("smol", smol, *args)
    assert result.exit_code == 1 and result.stderr == message
    assert loopback.requests == []


def test_a_nan_tolerance_is_refused_naming_nan(smol, loopback):
    result = invoke("smol", smol, "--scorer", "number", "--tolerance", "nan")
    assert result.exit_code == 2 and "NaN is not a tolerance" in result.stderr
    assert loopback.requests == []


def test_one_item_is_one_item_and_a_small_cost_is_a_figure(tmp_path):
    systems = [{"key": "member:m", "kind": "member", "name": "m", "of": []}]
    rows = [{"item": 0, "line": 1, "system": "member:m", "kind": "member", "name": "m", "answer": "4",
             "correct": True, "error": None, "calls": 1, "input_tokens": 12, "output_tokens": 3,
             "usage": {"m": {"calls": 1, "input": 12, "output": 3}}, "latency_ms": 5, "own_ms": 5, "wait_ms": 0}]
    built = figures.build(consortiums=["c"], dataset="d.jsonl", items=1, systems=systems, rows=rows,
                         prices={"m": (1.0, 1.0)}, judge={"model": "g", "calls": 1, "input_tokens": 30,
                                                          "output_tokens": 2, "errors": 0,
                                                          "usage": {"g": {"calls": 1, "input": 30, "output": 2}}})
    text = table.render(built)
    assert text.splitlines()[0] == "Eval of c on d.jsonl: 1 item, scorer exact"
    assert "$0.000015" in text and "cost $0.0000" not in text
    page = report_html.render(built, [{"index": 0, "line": 1, "prompt": "q", "expected": "4"}])
    assert "1 item, scorer exact" in page and "1 items" not in page
    from llm_consortium.text.words import dollars

    assert [dollars(v) for v in (None, 0, 0.0000152, 0.00213, 0.5, 1234.5)] == [
        "-", "$0", "$0.0000152", "$0.00213", "$0.50", "$1,234.50"]
    assert not re.search(r"\b1 items\b", text)


# ------------------------------------------------------------------ a failed call is a call


class _NoSlot:
    """A model's gate that never frees a slot: every call to it fails waiting, as a
    sync-only model's calls did when other systems held it."""

    limit = lowest = None

    async def acquire(self):
        import asyncio

        await asyncio.Event().wait()

    def rate_limited(self, slot=None):
        pass

    def succeeded(self, slot=None):
        pass


@pytest.mark.asyncio
async def test_eval_counts_a_member_call_that_never_got_a_slot_and_the_baseline_gets_the_calls_made():
    import dataclasses

    from llm_consortium.evaluation.dataset import Item
    from llm_consortium.evaluation.runner import Entrant, Plan, Runner

    stuck = dataclasses.replace(Scripted("stuck", "4").participant(), gate=_NoSlot())
    members = [Scripted("a", "4").participant(), Scripted("b", "4").participant(), stuck]
    base = Scripted("base", "4")
    entrant = Entrant("trio", members, None, settings(strategy="vote", max_iterations=1, timeout=0.2),
                      baseline=base.participant(), identity="trio")
    plan = Plan([entrant], include_members=False)
    rows = await Runner(plan, settings_key="s", scoring=Scoring("exact")).run([Item(0, 1, "What is 2+2?", "4")])
    consortium, baseline = rows
    assert consortium["calls"] == 3 and consortium["failed_calls"] == 1  # counted, never lost
    assert consortium["usage"]["stuck"]["calls"] == 1 and consortium["usage"]["stuck"]["requests"] == 0
    assert consortium["member_calls"] == 2 and baseline["samples"] == 2 and len(base.calls) == 2
    built = figures.build(consortiums=["trio"], dataset="d.jsonl", items=1,
                         systems=[s.as_dict() for s in plan.systems()], rows=rows, prices={})
    assert built["systems"][0]["failed_calls"] == 1
    assert "Failed calls: 1 (counted in its calls)" in table.render(built)

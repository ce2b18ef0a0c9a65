"""Several consortiums in one eval, shared systems run once, unknown usage kept
unknown, and a report that is a pure function of the stored results: unit tests
with scripted members, then end to end through llm's CLI, its OpenAI plugin against
the loopback server, and the sync-only local test plugin (which reports no usage)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import local_plugin
import pytest
from click.testing import CliRunner
from llm.cli import cli
from test_eval_cli import trio  # noqa: F401 - the fixture: consortium trio of alpha, beta and judge

from llm_consortium.evaluation import figures, report_html, table
from llm_consortium.evaluation.dataset import Item
from llm_consortium.evaluation.judge_scoring import Scoring
from llm_consortium.evaluation.result_store import ResultStore
from llm_consortium.evaluation.runner import Entrant, Plan, Runner
from llm_consortium.evaluation.trace_results import from_trace, waited_ms

from helpers import Scripted, judge_saying, llm_subprocess, parse_page, registered, save, settings
from loopback import reply


def build(plan, rows, items, **extra):
    return figures.build(consortiums=[e.name for e in plan.consortiums], dataset="d", items=items,
                        systems=[s.as_dict() for s in plan.systems()], rows=rows, **extra)


# ------------------------------------------------------------------ scripted members


def test_a_prompt_the_dataset_repeats_keeps_its_own_stored_answer(tmp_path):
    """The cause of live and resumed reports differing: results were keyed by the
    prompt alone, so a repeated prompt's later answer overwrote the earlier one and a
    resumed report gave every copy the last answer (other confidences, other bins)."""
    import asyncio

    items = [Item(i, i + 1, f"what is {i % 3}?", str(i % 3)) for i in range(12)]

    def five(seed):
        rng = random.Random(seed)
        member = Scripted("m", lambda call: rng.choice(["0", "0", "1", "2", "1"]))
        return Plan([Entrant("five", [member.participant(i) for i in range(1, 6)], None, settings(strategy="vote"))],
                    include_members=False)

    async def run(plan, store, resume):
        rows = await Runner(plan, settings_key="s", scoring=Scoring("exact"), store=store, resume=resume,
                            parallel=3).run(items)
        return json.dumps(build(plan, rows, len(items)))

    with ResultStore(tmp_path / "evals.db") as store:
        live = asyncio.run(run(five(1), store, False))
        assert store.count() == 12
        resumed = asyncio.run(run(five(2), store, True))  # another script: any call would show
    assert resumed == live
    bins = [b["count"] for b in json.loads(live)["systems"][0]["calibration"]["bins"]]
    assert sum(bins) == 12 and max(bins) < 12  # the copies did get different confidences


@pytest.mark.asyncio
async def test_two_consortiums_share_their_members_alone_and_equal_baselines():
    a = Scripted("a", lambda call: "4")
    b = Scripted("b", lambda call: "5")
    judge = Scripted("judge", lambda call: "<synthesis>4</synthesis><confidence>0.9</confidence>"
                     if "<synthesis>" in call.prompt else "4")
    arbitrated = Entrant("arb", [a.participant(), b.participant()], judge.participant(), settings(),
                         baseline=a.participant(), identity="arb")
    voting = Entrant("vote", [a.participant(), b.participant()], None, settings(strategy="vote", max_iterations=1),
                     baseline=a.participant(), identity="vote")
    plan = Plan([arbitrated, voting])
    rows = await Runner(plan, settings_key="s", scoring=Scoring("exact")).run([Item(0, 1, "2+2?", "4")])
    assert [s.key for s in plan.systems()] == ["consortium:arb", "consortium:vote", "member:a", "member:b",
                                               "baseline:arb", "baseline:vote"]
    # a: once in each consortium, once alone, twice for a baseline both consortiums share
    # (each made 2 member calls on the item, so both baselines are "a x2")
    assert len(a.calls) == 1 + 1 + 1 + 2 and len(b.calls) == 1 + 1 + 1
    by = {r["system"]: r for r in rows}
    assert by["baseline:arb"] == {**by["baseline:vote"], "system": "baseline:arb"}
    built = build(plan, rows, 1)
    assert [(c["a"], c["b"], c["against"]) for c in built["comparisons"]] == [
        ("consortium:arb", "member:a", "best_member"), ("consortium:arb", "baseline:arb", "baseline"),
        ("consortium:vote", "member:a", "best_member"), ("consortium:vote", "baseline:vote", "baseline"),
        ("consortium:arb", "consortium:vote", "consortium"),
    ]
    assert built["systems"][4]["of"] == ["arb"] and built["systems"][2]["of"] == ["arb", "vote"]
    assert "baseline a (budget of vote)" in table.render(built)


@pytest.mark.asyncio
async def test_unknown_usage_is_none_in_json_and_a_dash_in_the_table():
    quiet = Scripted("quiet", "4", tokens=(None, None))
    loud = Scripted("loud", "4", tokens=(1200, 3400))
    plan = Plan([Entrant("mix", [quiet.participant(), loud.participant()], None,
                         settings(strategy="vote", max_iterations=1), baseline=loud.participant())])
    rows = await Runner(plan, settings_key="s", scoring=Scoring("exact")).run(
        [Item(i, i + 1, f"q{i}", "4") for i in range(2)])
    built = build(plan, rows, 2, prices={"quiet": (1.0, 1.0), "loud": (1.0, 1.0)})
    systems = {s["key"]: s for s in built["systems"]}
    assert [systems[k]["input_tokens"] for k in systems] == [None, None, 2400, 4800]
    assert [systems[k]["cost"] for k in systems] == [None, None, pytest.approx(9200 / 1e6), pytest.approx(18400 / 1e6)]
    assert json.loads(json.dumps(built))["systems"][0]["output_tokens"] is None
    lines = table.render(built).splitlines()
    consortium = lines[3].split()
    assert consortium[:2] == ["consortium", "mix"] and consortium[5:9] == ["4", "-", "-", "-"]
    assert lines[5].split()[5:8] == ["2", "2,400", "6,800"]
    assert lines[6].split()[5:8] == ["4", "4,800", "13,600"]
    assert report_html.spend_axis(built["systems"])[0] == "calls"
    assert table.number(600348) == "600,348"


def test_waiting_is_counted_apart_from_the_systems_own_time():
    trace = {
        "text": "4", "confidence": 0.9, "final_round": 2,
        "usage": {"input": 0, "output": 0, "per_model": {"m": {"calls": 5, "input": 0, "output": 0}}},
        "rounds": [
            {"round": 1, "members": [{"model": "m", "text": "4", "queued_ms": 300, "duration_ms": 200,
                                      "usage": {"input": 0}},
                                     {"model": "m", "text": "4", "queued_ms": 300, "duration_ms": 400,
                                      "rate_limit_wait_ms": 250, "usage": {"input": 0}}],
             "arbiter": {"model": "j", "raw": "...", "queued_ms": 40, "duration_ms": 100, "usage": {"input": 0}}},
            {"round": 2, "members": [{"model": "m", "text": "4", "duration_ms": 100, "usage": {"input": 0}},
                                     {"model": "m", "error": "down", "duration_ms": 5, "usage": {"input": None}}]},
        ],
    }
    # round 1: 300 ms with nothing running, then the second call's rate-limit wait
    # after the first ended (500-700: 200 ms), and the arbiter's 40; round 2: none
    assert waited_ms(trace) == 540
    import time

    record = from_trace(trace, time.monotonic() - 1.0)
    assert record["wait_ms"] == 540 and record["own_ms"] == record["latency_ms"] - 540
    assert record["input_tokens"] == 0  # a failed call's missing usage is not "unknown usage"


# ------------------------------------------------------------------ end to end


def invoke(*args):
    return CliRunner().invoke(cli, ["consortiums", "eval", *map(str, args)])


def test_two_consortiums_end_to_end_and_a_resumed_report_equals_the_live_one(trio, loopback, tmp_path):  # noqa: F811
    save("duo", ["alpha", "beta"], arbiter=None, strategy="vote", max_iterations=1)
    page = tmp_path / "report.html"
    live = invoke("trio", "duo", trio, "--json", "--html", page)
    assert live.exit_code == 0, live.output
    assert live.stderr == f"Wrote {page}\n"
    # per item: alpha in trio, in duo, alone once, and twice for duo's baseline (its
    # first member); beta in trio, in duo and alone; judge as trio's arbiter and twice
    # as trio's baseline
    assert [len(loopback.requests_for(m)) for m in ("alpha", "beta", "judge")] == [3 * 5, 3 * 3, 3 * 3]
    data = json.loads(live.stdout)
    assert data["consortiums"] == ["trio", "duo"]
    assert [(s["key"], s["correct"]) for s in data["systems"]] == [
        ("consortium:trio", 3), ("consortium:duo", 2), ("member:alpha", 2), ("member:beta", 1),
        ("baseline:trio", 1), ("baseline:duo", 2),
    ]
    last = data["comparisons"][-1]
    assert set(last) == {"a", "b", "against", "items", "difference", "ci95", "discordant", "p_value",
                         "items_needed", "result"}
    assert (last["a"], last["b"], last["discordant"], last["p_value"]) == ("consortium:trio", "consortium:duo", [1, 0], 1.0)
    assert last["difference"] == pytest.approx(1 / 3)
    assert data["verdict"]["line"].count("\n") == 1  # one line per consortium
    text = "".join(parse_page(page).text)
    assert "Paired comparisons" in text and "trio - duo" in text.replace("consortium ", "")

    resumed = invoke("trio", "duo", trio, "--json", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stderr == "Reused 18 stored results (--resume).\n"
    assert len(loopback.requests) == 3 * 11  # not one more
    assert resumed.stdout == live.stdout  # byte for byte, timings included: both read the store

    solo = invoke("trio", trio, "--json", "--resume")  # trio alone reuses what the pair stored
    assert solo.exit_code == 0 and len(loopback.requests) == 3 * 11
    assert [s["correct"] for s in json.loads(solo.stdout)["systems"]] == [3, 2, 1, 1]


def test_a_consortium_named_twice_is_refused_before_any_call(trio, loopback):  # noqa: F811
    result = invoke("trio", "trio", trio)
    assert result.exit_code == 1 and result.stderr == "Error: Consortium 'trio' is named twice\n"
    assert loopback.requests == []


@pytest.fixture
def local(user_path):
    with registered(local_plugin.LocalPlugin(local_plugin.local_models()), "local-plugin") as plugin:
        yield plugin


def test_a_sync_only_plugin_without_usage_end_to_end(local, tmp_path):
    save("locals", [{"model_id": "local", "count": 3}], arbiter=None, strategy="vote", max_iterations=1)
    data_path = tmp_path / "qa.jsonl"
    data_path.write_text(json.dumps({"prompt": "Say it", "expected": local_plugin.ANSWER}) + "\n"
                         + json.dumps({"prompt": "Say 4", "expected": "4"}) + "\n")
    page = tmp_path / "report.html"
    result = invoke("locals", data_path, "--html", page)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote {page}\n"
    lines = result.stdout.splitlines()
    assert lines[3].split()[:9] == ["consortium", "locals", "1/2", "50.0%", "9.5%-90.5%", "6", "-", "-", "-"]
    assert lines[4].split()[:9] == ["member", "local", "1/2", "50.0%", "9.5%-90.5%", "2", "-", "-", "-"]
    # unknown tokens: the spend is compared in calls; no stray space ends the line
    assert lines[-1].endswith("no difference seen. locals used 3.0x the calls of local alone.")
    assert all(line == line.rstrip() for line in lines)
    svg_text = "".join(parse_page(page).text)
    assert "Accuracy against calls" in svg_text and "tokens (input + output)" not in svg_text
    done = invoke("locals", data_path, "--json")
    systems = json.loads(done.stdout)["systems"]
    assert [(s["input_tokens"], s["output_tokens"], s["cost"]) for s in systems] == [(None, None, None)] * 3


def test_the_real_llm_binary_with_an_installed_sync_only_plugin_and_the_openai_plugin(
    loopback, openai_models, user_path, tmp_path
):
    """Two consortiums sharing the sync-only `local` model, one with an OpenAI member
    and arbiter on the loopback server: the resumed report is the live one, byte for byte."""
    site = local_plugin.entry_point_dir(tmp_path / "site")
    overlaps = tmp_path / "overlaps.txt"
    tests = str(Path(__file__).resolve().parent)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), tests, os.environ.get("PYTHONPATH")])),
           local_plugin.ENV_OVERLAPS: str(overlaps)}
    openai_models(["alpha", "judge"])
    loopback.script("alpha", reply("4"))
    loopback.script("judge", judge_saying(local_plugin.ANSWER))
    save("locals", [{"model_id": "local", "count": 3}], arbiter=None, strategy="vote", max_iterations=1)
    save("mixed", ["local", "alpha"], arbiter="judge", max_iterations=1)
    data_path = tmp_path / "qa.jsonl"
    data_path.write_text("".join(json.dumps({"prompt": f"q{n}", "expected": local_plugin.ANSWER}) + "\n"
                                 for n in range(3)))
    live = llm_subprocess(user_path, "consortiums", "eval", "locals", "mixed", str(data_path), "--json",
                          "--no-baseline", **env)
    assert live.returncode == 0 and live.stderr == "", live.stderr
    data = json.loads(live.stdout)
    assert [(s["key"], s["correct"], s["calls"], s["input_tokens"]) for s in data["systems"]] == [
        ("consortium:locals", 3, 9, None), ("consortium:mixed", 3, 9, None),
        ("member:local", 3, 3, None), ("member:alpha", 0, 3, 3),
    ]
    # alpha: once in mixed and once alone per item
    assert len(loopback.requests_for("alpha")) == 6 and len(loopback.requests_for("judge")) == 3
    assert all(r["own_ms"] + r["wait_ms"] == r["latency_ms"] for r in data["results"])
    assert not overlaps.exists()
    resumed = llm_subprocess(user_path, "consortiums", "eval", "locals", "mixed", str(data_path), "--json",
                             "--no-baseline", "--resume", **env)
    assert resumed.returncode == 0 and resumed.stderr == "Reused 12 stored results (--resume).\n"
    assert resumed.stdout == live.stdout


def test_the_same_model_set_up_differently_is_two_members():
    a = Scripted("a", "4")
    cold = Entrant("cold", [a.participant()], None, settings(strategy="vote"), member_identity={"a": {"temperature": 0}})
    warm = Entrant("warm", [a.participant()], None, settings(strategy="vote"), member_identity={"a": {"temperature": 1}})
    same = Entrant("same", [a.participant()], None, settings(strategy="vote"), member_identity={"a": {"temperature": 0}})
    keys = [(s.key, s.of) for s in Plan([cold, warm, same]).systems() if s.kind == "member"]
    assert keys == [("member:a (cold)", ("cold", "same")), ("member:a (warm)", ("warm",))]


@pytest.mark.asyncio
async def test_with_and_without_peer_review_the_baseline_matches_every_member_call():
    from test_review import reviewer

    members = [reviewer(f"m{i}", f"answer {i}" + (" right" if i == 1 else "")) for i in range(3)]
    base = Scripted("base", "answer 0")
    reviewed = Entrant("reviewed", [m.participant() for m in members], None,
                       settings(strategy="vote", review=True, max_iterations=1), baseline=base.participant(),
                       identity="reviewed")
    plain = Entrant("plain", [m.participant() for m in members], None, settings(strategy="vote", max_iterations=1),
                    identity="plain")
    plan = Plan([reviewed, plain], include_members=False)
    rows = await Runner(plan, settings_key="s", scoring=Scoring("exact")).run([Item(0, 1, "q", "answer 1 right")])
    by = {r["system"]: r for r in rows}
    # three answers and three reviews: the baseline gets six samples
    assert (by["consortium:reviewed"]["member_calls"], by["consortium:reviewed"]["calls"]) == (6, 6)
    assert (by["baseline:reviewed"]["samples"], len(base.calls)) == (6, 6)
    assert [by[k]["correct"] for k in ("consortium:reviewed", "consortium:plain")] == [True, False]
    built = build(plan, rows, 1)
    assert built["comparisons"][-1]["discordant"] == [1, 0]

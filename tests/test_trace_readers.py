"""The trace as its readers take it: `read_trace` against what the engine writes
(every key declared, a well-formed trace read back unchanged), old and malformed
traces through `trace`, `trace --html` and `runs`, and peer review shown by all of
them, through llm's real CLI and OpenAI plugin against the loopback server."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from test_review import ANSWER, reviewer

from llm_consortium.engine import run
from llm_consortium.history.logged_runs import Run
from llm_consortium.render import trace_html as trace_html
from llm_consortium.render import trace_text as trace_text
from llm_consortium.trace import Trace, read_trace
from llm_consortium.types import Call, Participant, Reply, ToolUse

from helpers import ProviderError, Scripted, llm_run, parse_page, save, settings, verdict
from loopback import last_user_text, reply

# ------------------------------------------------------- the declaration


def undeclared(value: Any, hint: Any = Trace, path: str = "trace") -> list[str]:
    """Paths of keys in `value` that the declaration `hint` does not name."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return [p for option in typing.get_args(hint) for p in undeclared(value, option, path)]
    if typing.is_typeddict(hint) and isinstance(value, dict):
        fields = typing.get_type_hints(hint)
        found = []
        for key, item in value.items():
            found += undeclared(item, fields[key], f"{path}.{key}") if key in fields else [f"{path}.{key}"]
        return found
    if typing.get_origin(hint) is list and isinstance(value, list):
        (item,) = typing.get_args(hint)
        return [p for i, v in enumerate(value) for p in undeclared(v, item, f"{path}[{i}]")]
    if typing.get_origin(hint) is dict and isinstance(value, dict):
        _, item = typing.get_args(hint)
        return [p for k, v in value.items() for p in undeclared(v, item, f"{path}.{k}")]
    return []


def _with_tools(model_id: str) -> Participant:
    async def call(request: Call) -> Reply:
        used = ToolUse("lookup", {"q": "x"}, output="found", duration_ms=3, member=model_id)
        return Reply("answer with a tool", 4, 2, [used])

    return Participant(model_id, call)


async def _engine_traces() -> dict[str, Trace]:
    """A trace of each shape the engine writes: peer review (a dropped reviewer, a
    skipped copy, no arbiter and with one), a vote, a fallback vote, a JSON vote taken
    field by field with a rejected answer, tool calls, and a round that failed."""
    traces = {}
    members = [reviewer(f"m{i}", f"answer {i}" + (" right" if i == 1 else "")) for i in range(3)]
    bad = Scripted("bad", "answer bad", "no idea")
    copies = reviewer("m0", "answer 0 again")
    reviewed = [*(m.participant() for m in members), bad.participant(), copies.participant(2)]
    traces["review"] = (await run(Call("q"), reviewed, None, settings(review=True))).trace()
    few = [reviewer("same", "a").participant(1), reviewer("same", "b").participant(2), reviewer("o", "c").participant()]
    traces["skipped"] = (await run(Call("q"), few, None, settings(review=True))).trace()
    judge = Scripted("judge", verdict("judged", 0.9)).participant()
    traces["judged"] = (await run(Call("q"), reviewed[:3], judge, settings(review=True))).trace()
    voters = [Scripted(f"v{i}", "Paris" if i else "London").participant() for i in range(3)]
    traces["vote"] = (await run(Call("q"), voters, None, settings())).trace()
    down = Scripted("judge", ProviderError("judge is down")).participant()
    traces["fallback"] = (await run(Call("q"), voters, down, settings())).trace()
    objects = ['{"a": 1, "b": 2}', '{"a": 1, "b": 3}', '{"a": 2, "b": 3}', "not json"]
    json_members = [Scripted(f"j{i}", text).participant() for i, text in enumerate(objects)]
    schema = {"type": "object"}
    traces["json"] = (await run(Call("q", schema=schema), json_members, None, settings())).trace()
    tools = [_with_tools("t1"), Scripted("t2", "plain").participant()]
    traces["tools"] = (await run(Call("q"), tools, judge, settings())).trace()
    failing = [Scripted("f1", "fine").participant(), Scripted("f2", "also fine", ProviderError("no")).participant()]
    rounds = Scripted("judge", verdict("again", 0.2, needs_iteration=True)).participant()
    traces["failed"] = (await run(Call("q"), failing, rounds, settings(min_members=2, max_iterations=2))).trace()
    return traces


@pytest.mark.asyncio
async def test_every_key_the_engine_writes_is_declared_and_reads_back_unchanged():
    traces = await _engine_traces()
    review = traces["review"]["rounds"][0]["review"]
    assert [r["model"] for r in review["reviewers"] if "error" in r] == ["bad"] and review["winner"] == "m1"
    assert traces["skipped"]["rounds"][0]["review"]["skipped"]
    assert "by_field" in traces["json"]["rounds"][0]["vote"]
    assert "rejected" in traces["json"]["rounds"][0]["members"][3]
    assert traces["fallback"]["rounds"][0]["fallback"]["kept"] == "vote"
    assert traces["tools"]["rounds"][0]["members"][0]["tool_calls"][0]["name"] == "lookup"
    assert "failed" in traces["failed"]["rounds"][1]
    for name, trace in traces.items():
        stored = json.loads(json.dumps(trace))  # as llm stores and returns it
        assert undeclared(stored) == [], name
        assert read_trace(stored) == stored, name
        shown = Run("01X", "2026-01-01T00:00:00", None, None, None, "q", "a", {"consortium": "c", **stored})
        text = trace_text.render(shown, full=True)
        assert trace_html.render(shown).startswith("<!DOCTYPE html>")
        if name == "skipped":
            assert "Skipped same: fewer than two other models' answers" in text
            assert "Skipped same#2: fewer than two other models' answers" in text


# ------------------------------------------------- old and malformed traces

# A trace as the engine before the declaration wrote it (no version, no review, no
# tools, no matcher in the vote), with a failed member and a failed arbiter.
OLD_TRACE = {
    "consortium": "old-panel",
    "rounds": [
        {
            "round": 1,
            "members": [
                {"model": "alpha", "instance": 1, "text": "Paris.", "duration_ms": 1200,
                 "usage": {"input": 10, "output": 3}, "requests": 1, "label": "A"},
                {"model": "beta", "instance": 1, "error": "beta is overloaded", "duration_ms": 80,
                 "usage": {"input": None, "output": None}, "requests": 2,
                 "attempts": [{"ok": False, "error": "429", "duration_ms": 40, "rate_limited": True,
                               "retry_in": 0.5}, {"ok": False, "error": "429", "duration_ms": 40}],
                 "rate_limit_waits": 1, "rate_limit_wait_ms": 540, "label": "B"},
            ],
            "labels": {"A": "alpha", "B": "beta"},
            "arbiter": {"model": "judge", "error": "judge is down", "duration_ms": 50,
                        "usage": {"input": None, "output": None}, "requests": 1},
            "duration_ms": 1400,
            "vote": {"groups": [{"answer": "Paris.", "members": ["alpha"], "share": 1.0}],
                     "winner": "alpha", "share": 1.0},
            "fallback": {"kept": "vote", "members": ["alpha"], "answered": 1, "share": 1.0},
            "confidence": 1.0,
        }
    ],
    "final_round": 1,
    "confidence": 1.0,
    "confidence_threshold": 0.8,
    "usage": {"input": 10, "output": 3,
              "per_model": {"alpha": {"calls": 1, "requests": 1, "input": 10, "output": 3}}},
    "notes": ["round 1: the arbiter failed (judge is down); the answer is the members' vote"],
}


def _logged_as(trace: dict[str, Any], user_path: Path) -> str:
    """Make a real consortium turn in the logs, then give it `trace` as its stored
    trace; returns its id."""
    assert llm_run("-m", "panel", "capital?").exit_code == 0
    with sqlite3.connect(user_path / "logs.db") as db:
        (turn_id,) = db.execute("select id from turns order by id desc limit 1").fetchone()
        db.execute("update turns set response_json = ? where id = ?", [json.dumps(trace), turn_id])
    return turn_id


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    save("panel", ["alpha", "beta"], retries=0)
    loopback.script("judge", reply(verdict("Paris", 0.9)))


def test_a_trace_from_before_the_declaration_still_reads_everywhere(panel, user_path, tmp_path):
    turn_id = _logged_as(OLD_TRACE, user_path)
    text = llm_run("consortiums", "trace", turn_id, "--full")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith(f"Run {turn_id} · old-panel")
    assert "A   alpha" in text.stdout and "10 in / 3 out" in text.stdout
    assert "FAILED: beta is overloaded (2 attempts, 2 failed, rate-limited 1x" in text.stdout
    assert "Vote 1 of 1 answer: alpha" in text.stdout
    assert "The arbiter failed: the answer is the members' vote, 1 of 1 answer: alpha" in text.stdout
    page = tmp_path / "old.html"
    assert llm_run("consortiums", "trace", turn_id, "--html", str(page)).exit_code == 0
    assert "beta is overloaded" in "".join(parse_page(page).text)
    [row] = json.loads(llm_run("consortiums", "runs", "--json").stdout)
    assert (row["consortium"], row["rounds"], row["member_failures"], row["arbiter_failures"]) == ("old-panel", 1, 1, 1)
    assert row["tool_calls"] == 0 and row["below_threshold"] is False
    table = llm_run("consortiums", "runs")
    assert table.exit_code == 0 and turn_id in table.stdout and "old-panel" in table.stdout
    stored = json.loads(llm_run("consortiums", "trace", turn_id, "--json").stdout)
    assert stored == OLD_TRACE  # --json shows the trace as stored, version-less


def test_malformed_nested_values_render_without_a_traceback(panel, user_path, tmp_path):
    junk = json.loads(json.dumps(OLD_TRACE))
    round_ = junk["rounds"][0]
    round_["members"][0].update(usage="lots", label={"x": 1}, tool_calls="a hammer", attempts=[3, None])
    round_["members"].append("not a member")
    round_.update(arbiter=["judge"], vote={"groups": {"a": 1}}, review=[1, 2], fallback="vote", round="one")
    junk["rounds"].append(17)
    junk.update(confidence="high", confidence_threshold=[0.8], notes="one note", final_round=None)
    turn_id = _logged_as(junk, user_path)
    for args in (["trace", turn_id], ["trace", turn_id, "--full"], ["runs"], ["runs", "--json"]):
        result = llm_run("consortiums", *args)
        assert result.exit_code == 0 and result.stderr == "", (args, result.output)
    assert "Paris." in llm_run("consortiums", "trace", turn_id).stdout
    page = tmp_path / "junk.html"
    assert llm_run("consortiums", "trace", turn_id, "--html", str(page)).exit_code == 0
    parse_page(page)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
# Where a trace nests: each path names a value that the strategy replaces with junk.
PLACES = [
    ("rounds",), ("rounds", 0), ("rounds", 0, "members"), ("rounds", 0, "members", 0),
    ("rounds", 0, "members", 0, "usage"), ("rounds", 0, "members", 1, "attempts"),
    ("rounds", 0, "members", 0, "tool_calls"), ("rounds", 0, "members", 0, "label"),
    ("rounds", 0, "arbiter"), ("rounds", 0, "vote"), ("rounds", 0, "vote", "groups"),
    ("rounds", 0, "fallback"), ("rounds", 0, "review"), ("rounds", 0, "review", "ranking"),
    ("rounds", 0, "review", "reviewers"), ("rounds", 0, "review", "reviewers", 0, "ranking"),
    ("rounds", 0, "review", "reviewers", 0, "reasons"), ("rounds", 0, "review", "skipped"),
    ("rounds", 0, "review", "agreement"), ("usage",), ("notes",), ("confidence",), ("final_round",),
]
REVIEW = {
    "reviewers": [{"model": "beta", "instance": 1, "shown": ["alpha"], "ranking": ["alpha"],
                   "reasons": {"alpha": "fine"}, "duration_ms": 5, "usage": {"input": 1, "output": 1}}],
    "skipped": [{"member": "alpha", "why": "fewer than two other models' answers"}],
    "ranking": [{"member": "alpha", "score": 1.0, "mean_rank": 1.0, "firsts": 1, "ballots": 1}],
    "agreement": None,
}


def _put(trace: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    here: Any = trace
    for step in path[:-1]:
        here = here[step]
    here[path[-1]] = value


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PLACES), JSON_VALUES), min_size=1, max_size=4))
def test_junk_anywhere_renders_without_a_traceback(changes):
    trace = json.loads(json.dumps(OLD_TRACE))
    trace["rounds"][0]["review"] = json.loads(json.dumps(REVIEW))
    for path, value in changes:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier change removed the place
            _put(trace, path, value)
    found = Run("01X", "2026-01-01T00:00:00", None, None, None, "q", "a", trace)
    trace_text.render(found, full=True)
    trace_text.render(found)
    trace_html.render(found)
    json.dumps(found.row())


# ------------------------------------------------------------- peer review


def _loopback_reviewer(answer: str, reason: str):
    """A loopback member that answers `answer` and, asked to review, ranks the answers
    mentioning 12 first (then as shown), giving each `reason`."""

    def respond(body: dict[str, Any]) -> str:
        text = last_user_text(body)
        if "Rank every answer" not in text:
            return answer
        best = sorted(ANSWER.findall(text), key=lambda pair: "12" not in pair[1])
        return "<ranking>\n" + "\n".join(f"{i}. {label} - {reason}" for i, (label, _) in enumerate(best, 1)) + "\n</ranking>"

    return reply(respond)


HOSTILE_REASON = "clear <b>bold</b> \x1b]0;pwned\x07 claim"


@pytest.fixture
def reviewed(loopback, openai_models) -> None:
    """A run with peer review and no arbiter: three reviewers agree alpha is best,
    delta's review holds no ranking."""
    names = ["alpha", "beta", "gamma", "delta"]
    openai_models(names)
    for name, answer in zip(names[:3], ["It is 12.", "It is 13.", "It is 14."], strict=True):
        loopback.script(name, _loopback_reviewer(answer, HOSTILE_REASON))
    loopback.script("delta", reply("It is 15."), reply("I cannot rank these."))
    save("reviewed", names, arbiter=None, review=True, max_iterations=1, retries=0)
    result = llm_run("-m", "reviewed", "7 + 5?")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "It is 12.\n", "")


def test_trace_shows_the_peer_ranking_agreement_and_who_was_dropped(reviewed):
    result = llm_run("consortiums", "trace")
    assert result.exit_code == 0 and result.stderr == ""
    text = result.stdout
    assert re.search(r"  Peer review · agreement \(Kendall's W\) \d\.\d\d · 3 ballots from 4 reviewers\n", text)
    ranking = re.findall(r"^    (\d)\. (\w+) +score (\S+) · mean place (\S+)", text, re.M)
    assert ranking[0] == ("1", "alpha", "1.00", "1.00") and [r[1] for r in ranking][-1] != "alpha"
    assert len(ranking) == 4
    assert "No arbiter: the top-ranked answer (alpha) is the round's answer" in text
    assert "Dropped delta from the tally: ranking not usable" in text
    assert "Reviewer" not in text and "pwned" not in text  # ballots only with --full
    full = llm_run("consortiums", "trace", "--full").stdout
    beta = full.split("    Reviewer beta")[1].split("    Reviewer")[0]
    assert "shown " in beta and "      1. alpha: clear <b>bold</b>" in beta and "\x1b" not in full
    assert re.search(r"    Reviewer delta .* not counted\n        raw: I cannot rank these\.", full)


def test_trace_html_shows_a_ranking_table_per_round(reviewed, tmp_path):
    page = tmp_path / "review.html"
    assert llm_run("consortiums", "trace", "--html", str(page)).exit_code == 0
    parsed = parse_page(page)
    markup = page.read_text(encoding="utf-8")
    [table] = re.findall(r'<table class="ranking">.*?</table>', markup, re.S)
    headers = re.findall(r"<th>(.*?)</th>", table)
    assert headers[:3] == ["#", "answer of", "aggregate"] and sorted(headers[3:]) == ["alpha", "beta", "gamma"]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table)[1:]
    first = re.findall(r"<td[^>]*>(.*?)</td>", rows[0])
    assert first[:2] == ["1", "alpha"] and first[2].startswith("score 1.00 · mean place 1.00")
    assert first[3 + headers[3:].index("alpha")] == "own"  # alpha did not rank itself
    given = [re.findall(r'<td class="n">(.*?)</td>', row)[1:] for row in rows]  # the places reviewers gave
    assert len(rows) == 4 and all(cell in ("1", "2", "3", "own") for cells in given for cell in cells)
    text = "".join(parsed.text)
    assert "Dropped delta from the tally" in text and "agreement (Kendall's W)" in text
    assert "<b>bold</b>" in text and "<b>" not in markup and "[U+001B]" in markup  # escaped, shown

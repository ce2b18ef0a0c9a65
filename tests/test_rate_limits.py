"""Rate limits through llm's real CLI, its real OpenAI plugin and the loopback server
acting as a provider that allows two requests in flight: heavy use loses nothing, a
spent quota fails at once naming the member, and the trace says what it cost."""

from __future__ import annotations

import asyncio
import json

import llm
import pytest

from llm_consortium import engine
from llm_consortium.adapter.progress import describe
from llm_consortium.calls.limit_groups import endpoint
from llm_consortium.calls.sqlite_limits import FILE_NAME, SqliteLimits
from llm_consortium.types import Call, Event

from helpers import LLM_BIN, Scripted, consortiums_run, llm_run, llm_subprocess, save, settings, spawn
from loopback import FAST_RETRY, error, quota_exhausted, reply

SLOTS = 2
ANSWER = "The answer is 4."


def held_until_refused(loopback):
    """A reply that holds its slot until a third request has arrived, which the
    full provider must then refuse: at least one 429, by construction, not timing."""

    def text(body: dict) -> str:
        loopback.wait_for_requests(SLOTS + 1, model="busy")
        return ANSWER

    return reply(text)


@pytest.fixture
def busy(loopback, openai_models):
    """`panel`: three members on a provider allowing two requests in flight; a call
    answers only when all three members did (`min_members: 3`)."""
    openai_models(["busy"])
    save("panel", [{"model_id": "busy", "count": 3}], arbiter=None, strategy="vote", max_iterations=1, min_members=3)
    loopback.script("busy", held_until_refused(loopback))
    return loopback


def members(trace: dict) -> list[dict]:
    return [m for round_ in trace["rounds"] for m in round_["members"]]


def logged_traces(model: str = "panel") -> list[dict]:
    """The traces of every logged call of `model`, newest first."""
    rows = json.loads(llm_run("logs", "--json", "-n", "0").stdout)
    return [row["response_json"] for row in rows if row["model"] == model]


async def gather_calls(count: int) -> list[tuple[str, dict]]:
    model = llm.get_async_model("panel")

    async def one(n: int) -> tuple[str, dict]:
        response = model.prompt(f"Question {n}?")
        return await response.text(), response.response_json

    return await asyncio.gather(*(one(n) for n in range(count)))


def test_many_calls_in_one_process_all_answer_with_every_member(busy):
    # Every 429 reaches the policy (the client is told not to retry it itself), so
    # the traces must account for each one the provider sent.
    busy.limit_in_flight(SLOTS, retry_after_ms=20, client_retries=False)
    results = asyncio.run(gather_calls(8))
    assert [text for text, _ in results] == [ANSWER] * 8
    records = [m for _, trace in results for m in members(trace)]
    assert len(records) == 24 and all(m.get("text") == ANSWER for m in records)
    assert busy.refused >= 1 and busy.peak_in_flight <= SLOTS
    assert sum(m.get("rate_limit_waits", 0) for m in records) == busy.refused
    waited = [m for m in records if m.get("rate_limit_waits")]
    assert all(m["rate_limit_wait_ms"] > 0 and m["requests"] == len(m["attempts"]) for m in waited)
    assert all(a["rate_limited"] for m in waited for a in m["attempts"][:-1])
    # The model's gate lowered its limit on the first refusal; the calls that
    # ended after it show the limit.
    assert any(m.get("concurrency_limit") for m in records)
    assert sum(m["requests"] for m in records) == len(busy.requests_for("busy"))


def test_the_openai_clients_own_429_retries_lose_nothing_and_teach_the_limit(busy, user_path):
    """The client retries a 429 by itself, so a refused call may end well with the
    gate none the wiser: its HTTP client's log says what happened, as it happened.
    Every request the provider saw is in the traces, and the limit is learned."""
    busy.limit_in_flight(SLOTS, retry_after_ms=20)
    results = asyncio.run(gather_calls(8))
    assert [text for text, _ in results] == [ANSWER] * 8
    records = [m for _, trace in results for m in members(trace)]
    assert all(m.get("text") == ANSWER for m in records) and len(records) == 24
    assert busy.refused >= 1
    assert sum(m["requests"] for m in records) == len(busy.requests_for("busy"))
    assert sum(a.get("provider_retries", 0) for m in records for a in m.get("attempts", [])) >= 1
    assert SqliteLimits(user_path / FILE_NAME).limits(endpoint(busy.url))[0] is not None  # refusals were heard


def test_eight_llm_processes_at_once_all_answer_with_every_member(busy, user_path):
    # `--no-log`: eight `llm` processes finishing together trip over llm's own
    # logging ("database is locked" from llm.logs, with any model); a call that
    # answers had all three members answer (min_members: 3). llm migrates logs.db
    # even then, and eight first-ever runs race in its migrations: one run first,
    # as any user has had.
    assert llm_run("-m", "busy", "warm-up").exit_code == 0
    busy.reset()
    busy.script("busy", held_until_refused(busy))
    busy.limit_in_flight(SLOTS, retry_after_ms=20)
    children = [spawn(user_path, LLM_BIN, "-m", "panel", "--no-log", f"Question {n}?") for n in range(8)]
    finished = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * 8, finished
    assert finished == [(ANSWER + "\n", "")] * 8
    assert busy.refused >= 1 and busy.peak_in_flight <= SLOTS
    assert len(busy.requests_for("busy")) == 24 + busy.refused


def test_a_spent_quota_fails_at_once_naming_the_member(loopback, openai_models, user_path):
    openai_models(["spent", "fine"])
    save("c", ["spent"], arbiter=None, retries=5)
    loopback.script("spent", quota_exhausted(headers=FAST_RETRY))
    done = llm_subprocess(user_path, "-m", "c", "q")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    assert "spent: " in done.stderr and "You exceeded your current quota" in done.stderr
    assert "quota exhausted: not retried" in done.stderr
    # Only the openai client's own two retries: none of ours, however many allowed.
    assert len(loopback.requests_for("spent")) == 3


def test_a_spent_quota_beside_a_working_member_is_in_the_trace(loopback, openai_models):
    openai_models(["spent", "fine"])
    save("c", ["spent", "fine"], arbiter=None, strategy="vote", max_iterations=1)
    loopback.script("spent", quota_exhausted(headers=FAST_RETRY))
    assert llm_run("-m", "c", "q").stdout == "fine says: q\n"
    trace = logged_traces("c")[0]
    spent = next(m for m in members(trace) if m["model"] == "spent")
    assert "quota exhausted" in spent["error"] and spent["requests"] == 3 and "rate_limit_waits" not in spent


# ------------------------------------------------------------ requests and retries


@pytest.mark.parametrize(("retries", "requests", "attempts"), [(0, 3, 1), (2, 3, 1), (5, 6, 2)])
def test_the_trace_counts_every_request_a_failing_member_cost(loopback, openai_models, retries, requests, attempts):
    openai_models(["broken", "fine"])
    save("c", ["broken", "fine"], arbiter=None, strategy="vote", retries=retries, max_iterations=1)
    loopback.script("broken", error(500, "boom", FAST_RETRY))
    assert llm_run("-m", "c", "q").exit_code == 0
    trace = logged_traces("c")[0]
    broken = next(m for m in members(trace) if m["model"] == "broken")
    assert len(loopback.requests_for("broken")) == requests == broken["requests"]
    assert len(broken["attempts"]) == attempts
    assert trace["usage"]["per_model"]["broken"]["requests"] == requests


def test_compare_counts_the_requests_of_a_member_that_failed(loopback, openai_models):
    openai_models(["broken", "fine"])
    save("c", ["broken", "fine"], arbiter=None, strategy="vote", retries=0)
    loopback.script("broken", error(500, "boom", FAST_RETRY))
    result = consortiums_run("compare", "c", "q", "--baseline", "fine", "--json")
    assert result.exit_code == 0, result.output
    columns = {(c["kind"], c["name"]): c for c in json.loads(result.stdout)["columns"]}
    assert columns[("member", "broken")]["error"] and columns[("member", "broken")]["calls"] == 3
    assert sum(c["calls"] for c in columns.values()) == len(loopback.requests)


# ------------------------------------------------------------------ progress line


def test_the_progress_line_says_when_calls_wait_for_a_rate_limit():
    class Limited(Exception):
        status_code = 429

    events: list[Event] = []
    member = Scripted("m", Limited("slow down"), "ok")
    result = asyncio.run(
        engine.run(Call("q"), [member.participant()], None, settings(strategy="vote"), progress=events.append)
    )
    assert result.text == "ok"
    waiting = [e for e in events if e.rate_limited]
    assert waiting and "waiting for rate limit" in describe("panel", waiting[0])
    assert events[-1].rate_limited == 0
    assert "waiting for rate limit" not in describe("panel", events[-1])

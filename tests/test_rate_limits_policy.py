"""The policy for rate limits and the count of requests: a 429 is a wait within the
timeout and not a retry, a spent quota fails at once, the model's gate learns from
both, and the trace says how many requests a call cost and how long it waited."""

from __future__ import annotations

import asyncio
import random

import pytest

from llm_consortium.calls.failures import is_quota_exhausted, is_rate_limited
from llm_consortium.calls.gate import ModelGate, current_slot
from llm_consortium.calls.policy import call_with_policy, rate_limit_delay
from llm_consortium.render.trace_phrases import retries_text
from llm_consortium.types import Call, Participant, Reply

from helpers import Clock, ProviderError, Scripted, Sleeps


def rate_limit(ms: int | None = None, **kwargs) -> ProviderError:
    headers = {} if ms is None else {"retry-after-ms": str(ms)}
    return ProviderError(429, "Rate limit reached", headers=headers, **kwargs)


QUOTA = "You exceeded your current quota, please check your plan and billing details."


def policy(target, *, timeout: float = 60, retries: int = 2, sleep=None, on_wait=None):
    return asyncio.run(
        call_with_policy(
            target, Call("q"), timeout=timeout, retries=retries, sleep=sleep or Sleeps(),
            rng=random.Random(1), on_wait=on_wait,
        )
    )


# --------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("exc", "limited", "quota"),
    [
        (rate_limit(), True, False),
        (rate_limit(200), True, False),
        (ProviderError(503, "overloaded", headers={"retry-after": "2"}), True, False),
        (ProviderError(503, "overloaded"), False, False),  # a server error: retried as one
        (ProviderError(500, "boom", headers={"retry-after": "2"}), False, False),
        (ProviderError(429, QUOTA, code="insufficient_quota"), False, True),
        (ProviderError(429, "quota spent", code="billing_hard_limit_reached"), False, True),
        (ProviderError(429, QUOTA), False, True),  # said in words, no wait asked
        (ProviderError(429, "Daily limit reached for this key"), False, True),
        # A per-minute limit that speaks of "quota" but asks for a wait is a wait.
        (ProviderError(429, QUOTA, headers={"retry-after": "20"}), True, False),
        (ProviderError(400, "insufficient_quota"), False, False),
        (ValueError("429"), False, False),
    ],
)
def test_rate_limits_and_spent_quotas_are_told_apart(exc, limited, quota):
    assert is_rate_limited(exc) is limited
    assert is_quota_exhausted(exc) is quota


def test_a_wait_honours_retry_after_and_adds_jitter_within_bounds():
    rng = random.Random(7)
    for refusals in range(1, 12):
        wait = rate_limit_delay(refusals, 1.5, rng)
        assert 1.5 <= wait <= 3.0
        assert 0 <= rate_limit_delay(refusals, None, rng) <= 20
    assert len({round(rate_limit_delay(1, 1.0, rng), 6) for _ in range(20)}) > 1


# --------------------------------------------------------------------- waits, not retries


def test_rate_limits_are_waits_not_counted_against_retries():
    member = Scripted("m", *[rate_limit(100)] * 5, "at last")
    waits = Sleeps()
    outcome = policy(member, retries=0, sleep=waits)
    assert outcome.ok and outcome.reply.text == "at last"
    assert len(member.calls) == 6 and outcome.requests == 6
    assert outcome.rate_limit_waits == 5 and len(waits.waits) == 5
    assert all(0.1 <= s <= 0.6 for s in waits.waits)
    assert outcome.rate_limit_wait_ms >= round(sum(waits.waits) * 1000) - 5
    assert [a.get("rate_limited", False) for a in outcome.attempts] == [True] * 5 + [False]


def test_a_503_with_retry_after_is_a_wait_and_without_it_an_error():
    waits = Sleeps()
    outcome = policy(Scripted("m", ProviderError(503, "busy", headers={"retry-after": "3"}), "ok"), retries=0, sleep=waits)
    assert outcome.ok and outcome.rate_limit_waits == 1 and 3 <= waits.waits[0] <= 6
    outcome = policy(Scripted("m", ProviderError(503, "busy"), "ok"), retries=0)
    assert not outcome.ok and outcome.rate_limit_waits == 0


def test_the_sdks_own_refused_requests_count_as_waits_and_requests():
    outcome = policy(Scripted("m", rate_limit(1, sdk_retries=2), "ok"), retries=0)
    assert outcome.ok and outcome.requests == 4 and outcome.rate_limit_waits == 3


def test_a_wait_past_the_timeout_gives_up_with_the_rate_limit_error():
    member = Scripted("m", rate_limit(30_000), "never")
    outcome = policy(member, timeout=5)
    assert not outcome.ok and len(member.calls) == 1
    assert "429" in outcome.error and "gave up waiting for the rate limit" in outcome.error
    assert "5s timeout" in outcome.error


def test_a_provider_that_never_stops_refusing_is_waited_on_until_the_timeout():
    member = Scripted("m", rate_limit(1))
    outcome = asyncio.run(call_with_policy(member, Call("q"), timeout=0.3, retries=0))
    assert not outcome.ok and outcome.rate_limit_waits >= 1
    assert "rate limit" in outcome.error or "timed out" in outcome.error


def test_a_spent_quota_fails_at_once():
    member = Scripted("m", ProviderError(429, QUOTA, code="insufficient_quota"), "never")
    outcome = policy(member, retries=5)
    assert not outcome.ok and len(member.calls) == 1 and outcome.rate_limit_waits == 0
    assert QUOTA in outcome.error and "quota exhausted" in outcome.error


def test_progress_hears_of_each_wait_as_it_starts_and_ends():
    heard: list[bool] = []
    policy(Scripted("m", rate_limit(1), rate_limit(1), "ok"), on_wait=heard.append)
    assert heard == [True, False, True, False]


def test_a_broken_progress_callback_does_not_break_the_call():
    def broken(waiting: bool) -> None:
        raise RuntimeError("display gone")

    assert policy(Scripted("m", rate_limit(1), "ok"), on_wait=broken).ok


# -------------------------------------------------------------- requests and retries


@pytest.mark.parametrize(
    ("retries", "sdk_retries", "attempts", "requests"),
    [
        (0, None, 1, 1),
        (2, None, 3, 3),
        (5, None, 6, 6),
        # A client that retries twice inside each attempt (the openai SDK does):
        (0, 2, 1, 3),
        (2, 2, 1, 3),
        (5, 2, 2, 6),
    ],
)
def test_retries_bound_the_requests_a_failing_member_costs(retries, sdk_retries, attempts, requests):
    member = Scripted("m", ProviderError(500, "boom", sdk_retries=sdk_retries))
    outcome = policy(member, retries=retries)
    assert not outcome.ok
    assert len(outcome.attempts) == attempts and outcome.requests == requests


def test_a_call_that_answers_at_once_costs_one_request():
    outcome = policy(Scripted("m", "fine"))
    assert outcome.requests == 1 and outcome.rate_limit_waits == 0 and outcome.queued_ms == 0


# -------------------------------------------------------------------------- the gate


def gated(member: Scripted, gate: ModelGate) -> Participant:
    return Participant("m", member, gate=gate)


def test_a_rate_limit_lowers_the_models_limit_and_the_trace_shows_it():
    gate = ModelGate()

    async def scenario():
        held = [await gate.acquire() for _ in range(3)]  # three other calls in flight

        async def others_finish(seconds: float) -> None:
            for slot in held:
                slot.release()

        member = gated(Scripted("m", rate_limit(1), "ok"), gate)
        return await call_with_policy(member, Call("q"), timeout=60, retries=0, sleep=others_finish)

    outcome = asyncio.run(scenario())
    assert outcome.ok and gate.lowest == 2  # four were in flight when it was refused
    assert outcome.concurrency_limit == gate.limit


def test_an_ungated_or_never_lowered_model_shows_no_limit():
    assert policy(Scripted("m", "ok")).concurrency_limit is None
    assert policy(gated(Scripted("m", "ok"), ModelGate(4))).concurrency_limit is None


def test_each_attempt_holds_a_slot_and_releases_it_before_waiting():
    gate = ModelGate(1)
    seen: list[tuple[bool, int]] = []

    def look(call: Call) -> str:
        seen.append((current_slot.get() is not None, gate.in_flight))
        raise rate_limit(1)

    async def waiting(seconds: float) -> None:
        seen.append((current_slot.get() is not None, gate.in_flight))

    outcome = policy(gated(Scripted("m", look, "ok"), gate), sleep=waiting)
    assert outcome.ok
    assert seen == [(True, 1), (False, 0)]
    assert gate.in_flight == 0


def test_a_call_waits_for_a_free_slot_and_the_trace_says_how_long(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("llm_consortium.calls.gate.time", clock)
    gate = ModelGate(1)
    member = Scripted("m", "ok")

    async def scenario():
        held = await gate.acquire()
        task = asyncio.ensure_future(call_with_policy(gated(member, gate), Call("q"), timeout=60, retries=0))
        for _ in range(5):
            await asyncio.sleep(0)
        assert member.calls == []  # not started while the slot is taken
        clock.advance(0.25)
        held.release()
        return await task

    outcome = asyncio.run(scenario())
    assert outcome.ok and outcome.queued_ms == 250 and gate.in_flight == 0


def test_successes_let_a_lowered_limit_grow_back_to_just_below_where_it_was_refused():
    gate = ModelGate(4)

    async def scenario():
        slots = [await gate.acquire() for _ in range(4)]
        gate.rate_limited()
        for slot in slots:
            slot.release()
        assert gate.limit == 2
        other = await gate.acquire()
        outcomes = [
            await call_with_policy(gated(Scripted("m", "ok"), gate), Call("q"), timeout=60, retries=0)
            for _ in range(3)  # at the limit of two, refused at four: one success grows it to 3
        ]
        other.release()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert gate.limit == 3 and [o.concurrency_limit for o in outcomes] == [3, 3, 3]


def test_a_detached_slot_is_left_to_the_thread_and_the_attempt_marked_abandoned():
    """The thread bridge detaches the slot when the awaiting task gives up while the
    blocking call still runs; the policy must not free the model for another call."""
    gate = ModelGate(1)
    forever = asyncio.Event

    async def stuck(call: Call) -> Reply:
        current_slot.get().detach()  # what the bridge does on cancellation
        await forever().wait()
        raise AssertionError("unreachable")

    member = Scripted("m", stuck)
    outcome = asyncio.run(call_with_policy(gated(member, gate), Call("q"), timeout=0.05, retries=3))
    assert not outcome.ok and "timed out" in outcome.error
    assert outcome.abandoned == 1 and outcome.attempts[-1].get("abandoned") is True
    assert outcome.requests == 1 and gate.in_flight == 1


# ------------------------------------------------------------------ in the trace views


@pytest.mark.parametrize(
    ("member", "text"),
    [
        ({"requests": 1, "attempts": [{"ok": True}]}, ""),
        ({}, ""),  # a trace from an older version
        ({"requests": 3, "attempts": [{"ok": False}]}, "3 requests in 1 attempt, 1 failed"),
        ({"requests": 2, "attempts": [{"ok": False}, {"ok": True}]}, "2 attempts, 1 failed"),
        (
            {"requests": 4, "attempts": [{"ok": False}] * 3 + [{"ok": True}], "rate_limit_waits": 3,
             "rate_limit_wait_ms": 1234, "concurrency_limit": 2},
            "4 attempts, 3 failed, rate-limited 3x, waited 1.2s, model limit 2 in flight",
        ),
        ({"requests": 1, "attempts": [{"ok": True}], "queued_ms": 400, "abandoned": 1}, "queued 0.4s, 1 abandoned"),
    ],
)
def test_trace_views_say_what_a_call_cost_beyond_one_request(member, text):
    assert retries_text(member) == text


def test_jitter_never_makes_a_wait_the_timeout_allows_give_up():
    waits = Sleeps()
    # Asked for 4 s with a 5 s timeout: jitter could make it up to 8 s; it waits 4 s.
    outcome = policy(Scripted("m", rate_limit(4000), "ok"), timeout=5, sleep=waits)
    assert outcome.ok and len(waits.waits) == 1 and 4 <= waits.waits[0] < 5
    # Asked for nothing: the backoff is kept inside what is left of the timeout.
    waits = Sleeps()
    outcome = policy(Scripted("m", *[rate_limit()] * 8, "ok"), timeout=2, sleep=waits)
    assert outcome.ok and all(w < 2 for w in waits.waits)

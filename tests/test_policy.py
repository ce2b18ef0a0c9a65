"""The failure policy of one participant call (timeout over all attempts, retries,
Retry-After, empty answers), error classification on the openai client's real
exceptions, and key redaction."""

from __future__ import annotations

import asyncio

import llm
import openai
import pytest

from llm_consortium.calls.failures import (
    describe,
    is_rate_limited,
    is_transient,
    provider_retries,
    redact,
    remember_secret,
    retry_after,
    status_of,
)
from llm_consortium.calls.policy import BACKOFF_CAP, backoff, call_with_policy
from llm_consortium.types import Call

from helpers import ProviderError, Scripted, Sleeps
from loopback import FAST_RETRY, NO_RETRY, drop, empty, error, reply


def policy(fn, *, timeout: float = 5, retries: int = 2, sleep=None):
    return asyncio.run(
        call_with_policy(fn, Call("q"), timeout=timeout, retries=retries, sleep=sleep or Sleeps())
    )


# ------------------------------------------------------------- retries and timeouts


def test_transient_errors_are_retried_and_each_attempt_recorded():
    member = Scripted("m", ProviderError(503), ProviderError(429), "finally")
    sleeps = Sleeps()
    outcome = policy(member, sleep=sleeps)
    assert outcome.ok and outcome.reply.text == "finally"
    assert [a["ok"] for a in outcome.attempts] == [False, False, True]
    assert [a["retry_in"] for a in outcome.attempts[:2]] == [round(w, 3) for w in sleeps.waits]
    assert len(member.calls) == 3


@pytest.mark.parametrize(
    "exc",
    [ProviderError(400), ProviderError(401), ProviderError(404), ValueError("bad option"), KeyError("model")],
)
def test_permanent_errors_are_not_retried(exc):
    member = Scripted("m", exc, "never reached")
    outcome = policy(member)
    assert not outcome.ok and len(member.calls) == 1 and len(outcome.attempts) == 1


def test_retries_stop_after_the_configured_count():
    member = Scripted("m", ProviderError(500))
    outcome = policy(member, retries=1)
    assert len(member.calls) == 2
    assert outcome.error == "HTTP 500: provider trouble"


def test_retry_after_header_sets_the_wait():
    # (a 429's wait adds jitter on top: see test_rate_limits_policy.py)
    member = Scripted("m", ProviderError(500, headers={"retry-after": "1.5"}), "ok")
    sleeps = Sleeps()
    assert policy(member, sleep=sleeps).ok
    assert sleeps.waits == [1.5]


def test_a_retry_after_beyond_the_timeout_is_not_slept_on():
    member = Scripted("m", ProviderError(429, headers={"retry-after": "3600"}), "never reached")
    sleeps = Sleeps()
    outcome = policy(member, timeout=30, sleep=sleeps)
    assert sleeps.waits == [] and len(member.calls) == 1
    assert "429" in outcome.error and "would pass the 30s timeout" in outcome.error


class _Ceiling:
    """A jitter source that always draws the top of the range: the backoff's bound."""

    def uniform(self, low: float, high: float) -> float:
        return high


def test_backoff_doubles_from_the_base_up_to_the_cap_with_full_jitter():
    bounds = [backoff(n, _Ceiling()) for n in range(1, 10)]
    assert bounds[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert bounds[6:] == [BACKOFF_CAP] * 3
    # full jitter: every wait is drawn from 0 up to that bound
    assert all(0 <= backoff(n) <= bound for n, bound in enumerate(bounds, 1) for _ in range(50))


def test_timeout_covers_every_attempt_and_keeps_earlier_errors():
    async def hang(call):
        await asyncio.Event().wait()

    member = Scripted("m", ProviderError(500, headers={"retry-after": "0"}), hang)
    outcome = asyncio.run(call_with_policy(member, Call("q"), timeout=0.3, retries=3))
    assert outcome.error == "timed out after 0.3s"
    assert outcome.attempts[0]["error"] == "HTTP 500: provider trouble"
    assert outcome.attempts[-1]["error"] == "timed out after 0.3s"


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_answer_is_a_failure_and_not_retried(text):
    member = Scripted("m", text)
    outcome = policy(member)
    assert outcome.error == "empty answer" and len(member.calls) == 1


# ----------------------------------------- classification on real openai exceptions


def raised_by_openai(url: str, model: str, max_retries: int = 0) -> Exception:
    client = openai.OpenAI(base_url=url, api_key="DUMMY", max_retries=max_retries)
    with pytest.raises(openai.OpenAIError) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    return info.value


@pytest.mark.parametrize(
    "status, transient", [(429, True), (500, True), (503, True), (400, False), (404, False)]
)
def test_openai_status_errors(loopback, status, transient):
    loopback.script("m", error(status, "scripted", NO_RETRY))
    exc = raised_by_openai(loopback.url, "m")
    assert isinstance(exc, openai.APIStatusError)
    assert is_transient(exc) is transient
    assert str(status) in describe(exc)


def test_openai_connection_errors_are_transient(loopback):
    loopback.script("m", drop())
    exc = raised_by_openai(loopback.url, "m")
    assert isinstance(exc, openai.APIConnectionError) and is_transient(exc)


def test_retry_after_is_read_from_the_openai_exception(loopback):
    loopback.script("m", error(429, "slow down", {**NO_RETRY, "retry-after": "7"}))
    assert retry_after(raised_by_openai(loopback.url, "m")) == 7
    loopback.script("m", error(429, "slow down", {**NO_RETRY, "retry-after-ms": "250"}))
    assert retry_after(raised_by_openai(loopback.url, "m")) == 0.25
    loopback.script("m", error(429, "slow down", {**NO_RETRY, "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert retry_after(raised_by_openai(loopback.url, "m")) == 0  # a date in the past
    loopback.script("m", error(429, "slow down", NO_RETRY))
    assert retry_after(raised_by_openai(loopback.url, "m")) is None


def test_the_sdks_own_retries_are_counted(loopback):
    loopback.script("m", error(500, "down", FAST_RETRY))
    exc = raised_by_openai(loopback.url, "m", max_retries=2)
    assert provider_retries(exc) == 2
    assert len(loopback.requests_for("m")) == 3


def test_an_empty_openai_completion_is_a_failed_attempt(loopback):
    loopback.script("m", empty(), reply("second try"))

    async def call(c):
        client = openai.AsyncOpenAI(base_url=loopback.url, api_key="DUMMY", max_retries=0)
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": c.prompt}]
        )
        from llm_consortium.types import Reply

        return Reply(completion.choices[0].message.content)

    outcome = policy(call)
    assert outcome.error == "empty answer" and len(loopback.requests_for("m")) == 1


# ------------------------------------------------------------------------- secrets


def test_known_keys_are_redacted_from_error_descriptions():
    remember_secret("sk-unit-test-0123456789")
    remember_secret("short")  # too short to be a key; never blanked out of text
    assert redact("bad key sk-unit-test-0123456789!") == "bad key [redacted]!"
    exc = ProviderError(401)
    exc.args = ("Incorrect API key provided: sk-unit-test-0123456789",)
    assert "sk-unit" not in describe(exc) and "[redacted]" in describe(exc)
    assert redact("a short word") == "a short word"


# -------------------------------------------------------------------------- cycles


@pytest.mark.parametrize(
    "message, status, rate_limited, wait",
    [
        ("429 RESOURCE_EXHAUSTED. Quota exceeded for metric: requests, limit: 15. Please retry in 37.5s.", 429, True, 37.5),
        ("RESOURCE_EXHAUSTED {'retryDelay': '12s'}", 429, True, 12.0),
        ("Rate limit reached for requests, retry after 250ms", 429, True, 0.25),
        ("quota limit hit", 429, True, None),
        ("503 UNAVAILABLE. The model is overloaded.", 503, False, None),
        ("Internal server error", 503, False, None),
        ("model gemini-x not found", None, False, None),
    ],
)
def test_a_plugins_plain_model_error_is_read_from_its_message(message, status, rate_limited, wait):
    exc = llm.ModelError(message)
    assert status_of(exc) == status
    assert is_rate_limited(exc) is rate_limited
    assert is_transient(exc) is (status is not None)
    assert retry_after(exc) == wait
    assert describe(exc) == message  # its words, no invented "HTTP 429" prefix


def test_the_same_words_from_anything_but_a_model_error_are_no_providers_status():
    exc = ValueError("Requested tokens (429) exceed context window of 40")
    assert status_of(exc) is None and not is_transient(exc) and retry_after(exc) is None

"""The loopback server's provider limits, seen through the real openai client: an
in-flight limit answering 429 with Retry-After, and a spent quota."""

from __future__ import annotations

import threading

import openai
import pytest

from loopback import QUOTA_MESSAGE, hang, quota_exhausted, reply


def client(loopback) -> openai.OpenAI:
    return openai.OpenAI(base_url=loopback.url, api_key="x", max_retries=0)


def ask(loopback, model: str = "busy") -> str:
    response = client(loopback).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )
    return response.choices[0].message.content


def hold(loopback) -> None:
    """Occupy a slot with a request to a hanging model; it ends without an answer."""
    with pytest.raises(openai.APIConnectionError):
        ask(loopback)


def test_requests_beyond_the_in_flight_limit_get_429_with_retry_after(loopback):
    loopback.limit_in_flight(2, retry_after_ms=250)
    loopback.script("busy", hang(10))
    holders = [threading.Thread(target=hold, args=(loopback,)) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        assert loopback.wait_for_requests(2, model="busy")
        with pytest.raises(openai.RateLimitError) as refused:
            ask(loopback, "other")  # the limit is per account, over every model
        headers = refused.value.response.headers
        assert headers["retry-after-ms"] == "250" and headers["retry-after"] == "1"
        assert refused.value.code == "rate_limit_exceeded"
        assert loopback.refused == 1 and loopback.peak_in_flight == 2
    finally:
        loopback.release_hangs()
        for thread in holders:
            thread.join()


def test_a_freed_slot_serves_again_and_errors_take_no_slot(loopback):
    loopback.limit_in_flight(1)
    loopback.script("busy", reply("fine"))
    assert [ask(loopback) for _ in range(3)] == ["fine"] * 3
    loopback.script("broken", quota_exhausted())
    with pytest.raises(openai.RateLimitError):
        ask(loopback, "broken")
    assert ask(loopback) == "fine" and loopback.refused == 0


def test_reset_lifts_the_limit(loopback):
    loopback.limit_in_flight(1)
    loopback.reset()
    loopback.script("busy", hang(10))
    holder = threading.Thread(target=hold, args=(loopback,))
    holder.start()
    try:
        assert loopback.wait_for_requests(1, model="busy")
        assert ask(loopback, "other") == "other says: hi"
    finally:
        loopback.release_hangs()
        holder.join()


def test_quota_exhausted_is_an_openai_shaped_429(loopback):
    loopback.script("spent", quota_exhausted())
    with pytest.raises(openai.RateLimitError) as spent:
        ask(loopback, "spent")
    assert spent.value.code == "insufficient_quota" and spent.value.type == "insufficient_quota"
    assert QUOTA_MESSAGE in str(spent.value)

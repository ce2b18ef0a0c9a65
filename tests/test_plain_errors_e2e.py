"""A plugin that reports its provider's refusals as a plain `llm.ModelError` message
(no status attribute, no headers: llm-gemini's way) gets what an OpenAI-shaped
error gets, through llm's real CLI: a rate limit is waited out for as long as the
provider asks and lowers the model's in-flight limit; a server that is down is
retried."""

from __future__ import annotations

import json

import local_plugin
import pytest
from llm.plugins import pm

from helpers import llm_run, save

RESOURCE_EXHAUSTED = (
    "429 RESOURCE_EXHAUSTED. {'error': {'code': 429, 'message': 'Quota exceeded for metric: "
    "generate_content_free_tier_requests, limit: 15', 'status': 'RESOURCE_EXHAUSTED', "
    "'details': [{'@type': 'type.googleapis.com/google.rpc.RetryInfo', 'retryDelay': '0.05s'}]}}"
)
UNAVAILABLE = "503 UNAVAILABLE. The model is overloaded. Please try again later."


@pytest.fixture
def plain(user_path):
    """Registers `plain-errors`, a model raising the given messages, then answering."""
    registered = []

    def register(errors: list[str]) -> local_plugin.PlainErrorModel:
        model = local_plugin.PlainErrorModel("plain-errors", errors)
        pm.register(local_plugin.LocalPlugin([model]), name="plain-errors")
        registered.append(model)
        return model

    try:
        yield register
    finally:
        if registered:
            pm.unregister(name="plain-errors")


def member_trace() -> dict:
    rows = json.loads(llm_run("logs", "--json", "-n", "1").stdout)
    return rows[0]["response_json"]["rounds"][0]["members"][0]


def test_a_plain_rate_limit_is_waited_out_and_a_plain_503_retried(plain):
    model = plain([RESOURCE_EXHAUSTED, UNAVAILABLE])
    save("gemini-like", ["plain-errors"], arbiter=None, retries=1)
    result = llm_run("-m", "gemini-like", "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == local_plugin.ANSWER + "\n"
    assert result.stderr == ""
    assert model.calls == 3
    member = member_trace()
    assert member["requests"] == 3
    refused, down, answered = member["attempts"]
    assert refused["rate_limited"] is True and refused["retry_in"] >= 0.05  # at least what it asked
    assert "RESOURCE_EXHAUSTED" in refused["error"]
    assert "rate_limited" not in down and "503 UNAVAILABLE" in down["error"]
    assert answered["ok"] is True
    assert member["rate_limit_waits"] == 1
    assert "concurrency_limit" in member  # the model's gate learnt of the rate limit


def test_a_plain_503_is_not_retried_past_the_retry_budget(plain):
    model = plain([UNAVAILABLE, UNAVAILABLE])
    save("gemini-like", ["plain-errors"], arbiter=None, retries=1)
    result = llm_run("-m", "gemini-like", "q")
    assert result.exit_code != 0
    assert model.calls == 2
    assert "503 UNAVAILABLE" in result.output

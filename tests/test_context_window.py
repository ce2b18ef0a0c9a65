"""Context-window errors from several engines are recognised and put in plain words."""

import pytest

from llm_consortium.calls.context_window import Overflow, explain, overflow_in


@pytest.mark.parametrize(
    "error, expected",
    [
        ("Requested tokens (739) exceed context window of 512", Overflow(512, 739)),
        (
            "HTTP 400: This model's maximum context length is 8192 tokens. However, your messages "
            "resulted in 9123 tokens. Please reduce the length of the messages.",
            Overflow(8192, 9123),
        ),
        ("prompt is too long: 208310 tokens > 200000 maximum", Overflow(200000, 208310)),
        (
            "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
            Overflow(1048576, 1234567),
        ),
        (
            "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
            Overflow(32768, 40000),
        ),
        ("Prompt size exceeds the context window size and cannot be processed.", Overflow(None, None)),
        ("the request exceeds the available context size, try increasing it", Overflow(None, None)),
        ("Error code: context_length_exceeded", Overflow(None, None)),
    ],
)
def test_overflows_are_recognised(error, expected):
    assert overflow_in(error) == expected


@pytest.mark.parametrize(
    "error", [None, "", "HTTP 500: boom", "timed out", "HTTP 429: rate limited, too many requests"]
)
def test_other_errors_are_not_overflows(error):
    assert overflow_in(error) is None


def test_explained_in_words_a_user_can_act_on():
    assert explain(Overflow(512, 739)) == (
        "the arbiter's context window (512 tokens) is smaller than the judging prompt (739)"
    )
    assert explain(Overflow()) == "the arbiter's context window is smaller than the judging prompt"

"""Context-window errors from several engines are recognised and put in plain words."""

import pytest

from llm_consortium.calls.context_window import Overflow, explain, learned, overflow_in


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


@pytest.mark.parametrize(
    "overflow, sent, expected",
    [
        (Overflow(512, 739), 2217, (512, 3.0, True)),  # said: the window, and the prompt's characters per token
        (Overflow(512, None), 2217, (512, None, True)),
        (Overflow(None, 739), 2217, (512, 3.0, False)),  # guessed: the power of two below the prompt
        (Overflow(), 10_000, (2048, None, False)),  # nothing said: ~4 characters per token
        (Overflow(), 100, (256, None, False)),  # never guessed below 256
    ],
)
def test_an_overflow_teaches_the_window(overflow, sent, expected):
    assert learned(overflow, sent) == expected


def test_the_room_a_known_window_leaves_a_prompt():
    from llm_consortium.judging.fitting import prompt_room, reply_tokens
    from llm_consortium.types import ContextWindow

    assert prompt_room(None) is None and prompt_room(ContextWindow()) is None
    assert reply_tokens(512) == 128 and reply_tokens(200) == 96 and reply_tokens(100_000) == 1024
    assert prompt_room(ContextWindow(512)) == int((512 - 128) * 3.0 * 0.9)  # characters per token unknown: 3
    assert prompt_room(ContextWindow(512, chars_per_token=3.5), taken=100) == int((512 - 128) * 3.5 * 0.9) - 100


def test_a_prompt_is_built_whole_then_cut_in_the_full_form_then_in_the_compact_one():
    from llm_consortium.judging.fitting import COMPACT_LEAST, FULL_LEAST, fit_prompt
    from llm_consortium.text.cuts import DEFAULT_CAPS, fit

    texts = ["a" * 6_000, "b" * 6_000]

    def build(caps=DEFAULT_CAPS, compact=False):
        head = "c" * 100 if compact else "f" * 1_000
        return head + "".join(cut.text for cut in fit(texts, caps) if cut)

    assert fit_prompt(build, texts, None).text == build()  # unknown window: as always
    assert fit_prompt(build, texts, 20_000).text == build()  # fits whole
    full = fit_prompt(build, texts, 5_000)
    assert (full.form, full.share, full.fits) == ("full", 2_000, True) and full.share >= FULL_LEAST
    compact = fit_prompt(build, texts, 2_000)
    assert (compact.form, compact.share, compact.fits) == ("compact", 950, True) and compact.holds(COMPACT_LEAST)
    tight = fit_prompt(build, texts, 300)
    assert (tight.form, tight.share, tight.fits) == ("compact", 100, True) and not tight.holds(COMPACT_LEAST)
    assert not fit_prompt(build, texts, 50).fits

"""Context-window errors from several engines are recognised and put in plain words."""

import pytest

from llm_consortium.calls.context_window import Overflow, estimate_tokens, explain, learned, overflow_in


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
    "overflow, estimated, expected",
    [
        (Overflow(512, 739), 700, (512, 739 / 700, True)),  # said: the window, and the model's tokens per estimated one
        (Overflow(512, 600), 700, (512, 1.0, True)),  # an estimate that counted high is not trusted lower
        (Overflow(512, None), 700, (512, None, True)),
        (Overflow(None, 739), 700, (512, 739 / 700, False)),  # guessed: the power of two below the prompt
        (Overflow(), 2_500, (2048, None, False)),
        (Overflow(), 100, (256, None, False)),  # never guessed below 256
    ],
)
def test_an_overflow_teaches_the_window(overflow, estimated, expected):
    assert learned(overflow, estimated) == expected


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("The quick brown fox jumps over the lazy dog.", 13),  # a token per 4 letters of a word, or part of 4
        ("<<<RESPONSE A 3537b411>>>", 3 + 2 + 1 + 8 + 3),  # fences and nonces: a token per character but letters
        ("58 + 27 = 85", 8),  # a token per digit and per sign
        ("日本語", 3),  # a token per letter outside ASCII
        ("", 0),
    ],
)
def test_a_prompts_size_in_tokens_is_estimated_alike_for_every_model(text, tokens):
    assert estimate_tokens(text) == tokens


def test_the_room_a_known_window_leaves_a_prompt():
    from llm_consortium.judging.fitting import prompt_room, reply_tokens
    from llm_consortium.types import ContextWindow

    assert prompt_room(None) is None and prompt_room(ContextWindow()) is None
    assert reply_tokens(512) == 85 and reply_tokens(200) == 64 and reply_tokens(100) == 50
    assert reply_tokens(100_000) == 1024
    assert prompt_room(ContextWindow(512)) == int((512 - 85) * 0.9)
    assert prompt_room(ContextWindow(512, token_scale=1.2), taken=30) == int((512 - 85) * 0.9 / 1.2) - 30


def test_a_prompt_is_built_whole_then_cut_in_the_full_form_then_in_the_compact_one():
    from llm_consortium.judging.fitting import COMPACT_LEAST, FULL_LEAST, fit_prompt
    from llm_consortium.text.cuts import DEFAULT_CAPS, fit

    texts = ["a" * 6_000, "b" * 6_000]  # 1,500 estimated tokens each

    def build(caps=DEFAULT_CAPS, compact=False):
        head = "c " * 50 if compact else "f " * 500  # the instructions: 50 or 500 tokens
        return head + " ".join(cut.text for cut in fit(texts, caps) if cut)

    assert fit_prompt(build, texts, None).text == build()  # unknown window: as always
    assert fit_prompt(build, texts, 4_000).text == build()  # fits whole
    for room, form, holds in ((2_000, "full", FULL_LEAST), (700, "compact", COMPACT_LEAST)):
        fitted = fit_prompt(build, texts, room)
        assert (fitted.form, fitted.fits) == (form, True) and fitted.holds(holds)
        assert estimate_tokens(fitted.text) <= room < estimate_tokens(build())
    tight = fit_prompt(build, texts, 100)
    assert (tight.form, tight.fits) == ("compact", True) and not tight.holds(COMPACT_LEAST)
    assert not fit_prompt(build, texts, 40).fits

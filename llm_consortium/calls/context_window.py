"""A model's context window: what a plugin states, and what "the prompt is too long
for this model" in any provider's error says about it.

Local engines often have a 512-4k token context window, and the arbiter's judging
prompt holds every member's answer, so it is the call most likely to overflow. The
raw errors differ per engine and SDK ("Requested tokens (739) exceed context window
of 512", "maximum context length is 8192 tokens", "prompt is too long: 210000 tokens
> 200000 maximum", ...); this module reads the numbers out of whichever one it is,
so the user is told what happened in words they can act on, and the window is
learned for the calls after it (`learned`). Stdlib only: it reads text, never an
SDK's exception classes.

llm has no common field for a model's context window. A plugin that states one does
so as an attribute or an option (llm-gguf's `n_ctx`, Ollama's `num_ctx`, ...), so
`stated` looks for those names, in the options first; a model that states none is
not guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WINDOW_NAMES = ("context_window", "context_length", "max_context_length", "n_ctx", "num_ctx")
"""Where plugins state a model's context window in tokens (attributes or options)."""

LETTERS_PER_TOKEN = 4
"""`estimate_tokens` counts a token per this many ASCII letters of a word."""

_PIECE = re.compile(r"[^\W\d_]+|\d|\S")  # a run of letters, a digit, any other visible character

SMALLEST_WINDOW = 256
"""No window learned from an error that gave no size is guessed below this."""

# (pattern, group name of the window size, group name of the prompt size); either
# name may be missing when that engine's message does not carry the number.
_NUMBERED = [
    # llama-cpp-python
    re.compile(r"requested tokens \((?P<prompt>\d+)\) exceed context window of (?P<window>\d+)", re.I),
    # OpenAI and compatible servers
    re.compile(
        r"maximum context length is (?P<window>\d+) tokens.*?(?:resulted in|requested) (?P<prompt>\d+) tokens",
        re.I | re.S,
    ),
    re.compile(r"maximum context length is (?P<window>\d+) tokens", re.I),
    # Anthropic
    re.compile(r"prompt is too long:? (?P<prompt>\d+) tokens > (?P<window>\d+)", re.I),
    # Gemini
    re.compile(
        r"input token count \(?(?P<prompt>\d+)\)? exceeds the maximum number of tokens allowed \(?(?P<window>\d+)",
        re.I,
    ),
    # Mistral / vLLM
    re.compile(
        r"prompt contains (?P<prompt>\d+) tokens.*?too large for model with (?P<window>\d+) maximum context length",
        re.I | re.S,
    ),
    # llama.cpp server and others that name n_ctx
    re.compile(r"n_ctx\D{0,20}(?P<window>\d+)", re.I),
    re.compile(r"context (?:window|length|size) (?:of |is |= ?)?(?P<window>\d+)", re.I),
]

_WORDED = re.compile(
    r"context[ _](?:window|length|size)|context_length_exceeded|exceeds? (?:the )?(?:available )?context"
    r"|prompt is too long|too many tokens|maximum context|n_ctx|exceeds the maximum number of tokens",
    re.I,
)


@dataclass(frozen=True)
class Overflow:
    """A call refused because its prompt did not fit; the sizes are tokens, when known."""

    window: int | None = None
    prompt: int | None = None


def overflow_in(error_text: str | None) -> Overflow | None:
    """The overflow an error message reports, or None when it reports something else."""
    if not error_text or not _WORDED.search(error_text):
        return None
    window = prompt = None
    for pattern in _NUMBERED:
        match = pattern.search(error_text)
        if match is None:
            continue
        found = match.groupdict()
        window = window if window is not None else _int(found.get("window"))
        prompt = prompt if prompt is not None else _int(found.get("prompt"))
        if window is not None and prompt is not None:
            break
    return Overflow(window, prompt)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def explain(overflow: Overflow, whose: str = "the arbiter's", prompt_name: str = "the judging prompt") -> str:
    """The overflow in words: `the arbiter's context window (512 tokens) is smaller
    than the judging prompt (739)`, with whatever numbers are known."""
    window = f"{whose} context window" + (f" ({overflow.window} tokens)" if overflow.window else "")
    prompt = prompt_name + (f" ({overflow.prompt})" if overflow.prompt else "")
    return f"{window} is smaller than {prompt}"


def estimate_tokens(text: str) -> int:
    """A text's size in tokens, estimated alike for every model, a little above what
    tokenizers count: a token per `LETTERS_PER_TOKEN` ASCII letters of a word, one
    per other letter (CJK, accented), per digit (several tokenizers split numbers
    into digits) and per other visible character (fences, nonces and punctuation
    cost tokens a characters-per-token rule misses)."""
    count = 0
    for piece in _PIECE.findall(text):
        if piece.isascii() and piece.isalpha():
            count += -(-len(piece) // LETTERS_PER_TOKEN)
        else:
            count += len(piece) if piece.isalpha() else 1
    return count


def learned(overflow: Overflow, estimated: int) -> tuple[int, float | None, bool]:
    """What an overflow of a prompt whose estimated size was `estimated` tokens
    teaches about the model: (its window in tokens, its tokens per estimated token
    when the error gave the prompt's size (never below 1: the estimate is meant to
    count high), whether the window was said rather than guessed). A window the
    error did not give is guessed as the largest power of two below the prompt's
    size (context windows are set that way: 512, 2,048, 8,192, ...)."""
    scale = max(1.0, overflow.prompt / estimated) if overflow.prompt and estimated else None
    if overflow.window is not None:
        return overflow.window, scale, True
    tokens = overflow.prompt or max(1, estimated)
    guess = SMALLEST_WINDOW
    while guess * 2 < tokens:
        guess *= 2
    return guess, scale, False


def stated(model: Any, options: Mapping[str, Any]) -> int | None:
    """The context window (tokens) a model states through an option or an attribute,
    else None. 0 or a non-number means "not stated" (llm-gguf's n_ctx 0: from the model)."""
    for source in (options, _attributes(model), _option_defaults(model)):
        for name in WINDOW_NAMES:
            value = source.get(name)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def _attributes(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name, None) for name in WINDOW_NAMES}


def _option_defaults(model: Any) -> dict[str, Any]:
    fields = getattr(getattr(model, "Options", None), "model_fields", None) or {}
    return {name: fields[name].default for name in WINDOW_NAMES if name in fields}

"""Recognising "the prompt is too long for this model" in any provider's error.

Local engines often have a 512-4k token context window, and the arbiter's judging
prompt holds every member's answer, so it is the call most likely to overflow. The
raw errors differ per engine and SDK ("Requested tokens (739) exceed context window
of 512", "maximum context length is 8192 tokens", "prompt is too long: 210000 tokens
> 200000 maximum", ...); this module reads the numbers out of whichever one it is,
so the user is told what happened in words they can act on. Stdlib only: it reads
text, never an SDK's exception classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

"""Text cut short, always said so: the one place text is cut.

Model text cut to fit a prompt: every prompt the plugin builds from model answers
(the arbiter's, a refinement, a vote's peer prompt, a reviewer's, the judge matcher's)
holds at most `answer_chars` of any one answer and `total_chars` of all of them.

A member that replies 10 MB must not turn the next call into a 10 MB request (one
very expensive call on a paid model, or a context-window failure). Short answers are
kept whole; when the answers together are too long, the longest are cut to an equal
share (water-filling), each from its start, and each cut is said in words outside
the answer's fenced block, so the reader knows it saw a part and no answer can fake
or hide the note (docs/safety.md#prompts). A tool's result is kept for the arbiter
and the trace as an `excerpt`, its cut said after it.

Anything shown in a line of fixed width (a label, a preview, a value quoted in a
message) is `shortened`: whole when it fits, else cut one character short and ended
with "…"; `one_line` first makes it one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ANSWER_CHARS = 24_000
"""At most this many characters of any one answer in a prompt (about 6,000 tokens)."""

TOTAL_CHARS = 96_000
"""At most this many characters of model text, all answers together, in one prompt
(about 24,000 tokens). A model's known context window makes them smaller
(`judging/fitting.py`)."""


EXCERPT_CHARS = 2000
"""At most this many characters of a tool's result are kept for the arbiter and the trace."""


@dataclass(frozen=True)
class Caps:
    """How much model text one prompt may hold: per answer, and in total."""

    answer_chars: int = ANSWER_CHARS
    total_chars: int = TOTAL_CHARS


DEFAULT_CAPS = Caps()


@dataclass(frozen=True)
class Cut:
    """One answer as a prompt shows it: `text`, the first characters of an answer
    `length` characters long."""

    text: str
    length: int

    @property
    def is_cut(self) -> bool:
        return len(self.text) < self.length

    def note(self, name: str, short: bool = False) -> str:
        """The sentence that says `name` was cut, or "" when it was not; `short`: the
        few words a compact prompt has room for."""
        if not self.is_cut:
            return ""
        if short:
            return f"{name} is cut to its first {len(self.text):,} of {self.length:,} characters."
        return (
            f"{name} was cut to fit this prompt: only its first {len(self.text):,} of "
            f"{self.length:,} characters are shown."
        )


def _level(lengths: Sequence[int], total: int) -> int:
    """The largest share L with sum(min(length, L)) <= total."""
    remaining, pending = total, sorted(lengths)
    for index, length in enumerate(pending):
        share = remaining // (len(pending) - index)
        if length > share:
            return share
        remaining -= length
    return max(pending, default=0)


def fit(texts: Sequence[str | None], caps: Caps = DEFAULT_CAPS) -> list[Cut | None]:
    """Each of `texts` cut to the caps (None stays None): at most `answer_chars`
    each, at most `total_chars` together, the short ones whole."""
    lengths = [min(len(text), caps.answer_chars) for text in texts if text is not None]
    level = _level(lengths, caps.total_chars) if sum(lengths) > caps.total_chars else caps.answer_chars
    return [None if text is None else Cut(text[: min(level, caps.answer_chars)], len(text)) for text in texts]


def share(texts: Sequence[str | None], caps: Caps = DEFAULT_CAPS) -> int | None:
    """The most characters any one of `texts` keeps under `caps` when some is cut
    (the level `fit` cuts them to); None when every one is whole."""
    lengths = [len(text) for text in texts if text is not None]
    capped = [min(length, caps.answer_chars) for length in lengths]
    level = _level(capped, caps.total_chars) if sum(capped) > caps.total_chars else caps.answer_chars
    return min(level, caps.answer_chars) if any(length > level for length in lengths) else None


def fit_one(text: str, caps: Caps = DEFAULT_CAPS) -> Cut:
    """One text alone in its prompt: cut to `answer_chars`."""
    return Cut(text[: caps.answer_chars], len(text))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text`, cut to `limit` characters with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def shortened(text: str, limit: int) -> str:
    """`text` when it has at most `limit` characters, else its first `limit - 1` and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int) -> str:
    """`text` on one line (each run of whitespace one space), `shortened` to `limit`."""
    return shortened(" ".join(text.split()), limit)

"""Prompts made to fit a model's context window, when it is known.

A prompt built from model answers (the arbiter's, a member's refinement or peer
prompt) is built whole first. When it is longer than the room the model's window
leaves, it is built again with the answers cut to what is left after the
instructions (`text.cuts` cuts them and says so in the prompt): in the full form
while each answer keeps at least `FULL_LEAST` characters, else in the compact form
(a few lines of instructions, `prompts`) while each keeps at least `COMPACT_LEAST`.
Below that the arbiter judges in steps (`engine/stepwise.py`); a member gets the
compact form cut as far as it goes.

The room is counted in tokens as `calls.context_window.estimate_tokens` counts them:
the window, less what the reply needs, less a margin, over the model's own tokens per
estimated token when an overflow error measured it. The answers' caps are in
characters: they are set from the room and made smaller until the prompt fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..calls.context_window import estimate_tokens
from ..text.cuts import ANSWER_CHARS, DEFAULT_CAPS, TOTAL_CHARS, Caps, share
from ..types import ContextWindow

MARGIN = 0.9
"""The share of the estimated room a prompt may fill: the rest covers the estimate's error."""

REPLY_SHARE = 1 / 6
REPLY_TOKENS = (64, 1024)
"""The reply's part of the window: a sixth of it, at least 64 and at most 1,024 tokens
(and never more than half)."""

FULL_LEAST = 1_200
"""The full instructions are kept while each cut answer keeps at least this many characters."""

COMPACT_LEAST = 160
"""The compact form holds every answer while each keeps at least this many
characters (a sentence or two); below it the arbiter judges in steps."""

Build = Callable[..., str]
"""A prompt builder: `build(caps=Caps, compact=bool)` gives the prompt's text."""


def reply_tokens(window: int) -> int:
    """The tokens kept free for the reply in a window of `window` tokens."""
    low, high = REPLY_TOKENS
    return min(high, max(low, int(window * REPLY_SHARE)), window // 2)


def prompt_room(window: ContextWindow | None, taken: int = 0) -> int | None:
    """The estimated tokens a prompt may hold in `window` besides `taken` sent with
    it (the system prompt, the conversation); None when the window is unknown."""
    if window is None or not window.tokens:
        return None
    room = (window.tokens - reply_tokens(window.tokens)) * MARGIN / (window.token_scale or 1.0)
    return max(0, int(room) - taken)


@dataclass(frozen=True)
class Fitted:
    """A prompt as it was made to fit: its text, its form, the caps its answers were
    cut to, the most characters a cut answer kept (`share`, None when no answer was
    cut to fit) and whether it is within the room."""

    text: str
    compact: bool = False
    caps: Caps = DEFAULT_CAPS
    share: int | None = None
    fits: bool = True

    @property
    def form(self) -> str:
        return "compact" if self.compact else "full"

    def holds(self, least: int) -> bool:
        """Within the room, every answer keeping at least `least` characters."""
        return self.fits and (self.share is None or self.share >= least)


def fit_prompt(build: Build, texts: Sequence[str | None], room: int | None) -> Fitted:
    """`build`'s prompt within `room` estimated tokens (None: the room is unknown, the
    prompt is built as always). `texts` are the model texts the builder cuts, for
    the share each keeps. The full form while answers keep `FULL_LEAST` characters,
    else the compact one; when neither holds, the compact one cut as far as it goes
    (`fits` False when even that is too long)."""
    whole = build(caps=DEFAULT_CAPS, compact=False)
    if room is None or estimate_tokens(whole) <= room:
        return Fitted(whole)
    full = _cut_to(build, texts, room, compact=False)
    if full.holds(FULL_LEAST):
        return full
    return _cut_to(build, texts, room, compact=True)


def _cut_to(build: Build, texts: Sequence[str | None], room: int, *, compact: bool) -> Fitted:
    """The prompt in one form with its answers cut to the room its instructions leave."""
    text = build(caps=DEFAULT_CAPS, compact=compact)
    if estimate_tokens(text) <= room:
        return Fitted(text, compact)
    written = [t for t in texts if t]
    density = sum(map(len, written)) / max(1, sum(map(estimate_tokens, written)))  # characters per token
    total = int((room - estimate_tokens(build(caps=Caps(0, 0), compact=compact))) * density)
    caps = Caps(0, 0)
    for _ in range(8):  # the cut notes and the cut points vary with the caps: close in from above
        if total <= 0:
            break
        caps = Caps(min(total, ANSWER_CHARS), min(total, TOTAL_CHARS))
        text = build(caps=caps, compact=compact)
        used = estimate_tokens(text)
        if used <= room:
            return Fitted(text, compact, caps, share(texts, caps))
        total -= int((used - room) * max(density, 1.0)) + 1
    return Fitted(text, compact, caps, share(texts, caps) or 0, fits=False)

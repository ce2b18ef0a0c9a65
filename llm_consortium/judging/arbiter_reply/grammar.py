"""The grammar of a model's reply, defined once for every reader of it.

The arbiter writes its verdict in tags (``<analysis>``, ``<confidence>``,
``<synthesis>``...) and reasoning models wrap their drafts in ``<think>`` or
``<thinking>``. Reading a whole reply (`verdict`), reading one as it streams
(`reader`) and finding JSON in one (`structured.json_answers`) must agree on what is
a tag, what is reasoning and what a confidence says, so those three things live here:

* `TAG_RE`: any known tag, opening, closing or self-closing, in any case, with
  whitespace anywhere inside the brackets and ``needs iteration`` / ``needs-iteration``
  / ``needs_iteration`` all one name; `tag_info` names a match.
* `remove_think`: a reply without its reasoning blocks.
* `read_confidence`: a confidence as written (text or a JSON number), read only when
  it is one (a number from 0 to 1, or a percentage), else unknown with what was
  written and why it is none; `parse_flag` and `parse_areas`: needs_iteration and
  refinement areas, as tags or JSON.

Standard library only; every function is linear in the reply's length.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ...text.cuts import one_line
from .. import numbers

__all__ = [
    "NAMES", "TAG_RE", "ConfidenceReading", "parse_areas", "parse_confidence", "parse_flag", "read_confidence",
    "remove_think", "strip_tags", "tag_info",
]

NAMES: dict[str, tuple[str, ...]] = {
    "analysis": ("analysis",),
    "dissent": ("dissent",),
    "synthesis": ("synthesis",),
    "confidence": ("confidence",),
    "needs_iteration": ("needs", "iteration"),
    "refinement_areas": ("refinement", "areas"),
    "think": ("think",),
    "thinking": ("thinking",),
}
"""Each tag's canonical name -> the words it is written as; "thinking" is "think"."""

SEPARATOR = r"[\s_-]*"
"""What may stand between the words of a name."""


def written(parts: tuple[str, ...]) -> str:
    """The regex for a name written as `parts`."""
    return SEPARATOR.join(parts)


_NAME_GROUPS = "|".join(f"(?P<{key}>{written(parts)})" for key, parts in NAMES.items())
TAG_RE = re.compile(rf"<\s*(?P<close>/)?\s*(?:{_NAME_GROUPS})\s*(?P<selfclose>/)?\s*>", re.IGNORECASE)
"""One known tag: groups `close` and `selfclose` say which form, one name group is set."""


def tag_info(m: re.Match[str]) -> tuple[str, bool, bool]:
    """(canonical name, is closing, is self-closing) of a `TAG_RE` match."""
    key = next(k for k in NAMES if m.group(k) is not None)
    return ("think" if key == "thinking" else key), m.group("close") is not None, m.group("selfclose") is not None


def strip_tags(text: str) -> str:
    """`text` with every known tag removed, so none can reach the user.

    One pass is not enough: removing "<synthesis>" from "<syn<synthesis>thesis>"
    joins the halves into a fresh tag. A few passes settle any real reply; for
    deliberately deep nesting (which would make repeated passes quadratic) the
    leftover tags are defused instead, by swapping their "<" for a look-alike:
    that creates no new "<", so it cannot form a new tag.
    """
    for _ in range(8):
        cleaned = TAG_RE.sub("", text)
        if cleaned == text:
            return text
        text = cleaned
    return TAG_RE.sub(lambda m: "\u2039" + m.group(0)[1:], text)


def remove_think(text: str) -> str:
    """`text` without its reasoning blocks (<think>/<thinking>), everything else kept.

    * Matched blocks are removed, nested ones included.
    * An opening tag never closed ends at the next section tag (or the end): a model
      that forgot to close its reasoning must not lose the verdict after it, and
      without a section tag the rest is reasoning, not an answer.
    * A closing tag with no opening before it means the reasoning began at the very
      start (some chat templates put the opening tag in the prompt), so the text
      before the first such tag is dropped. Later stray closing tags are just removed.

    Self-closing tags are not blocks; they stay (and `strip_tags` removes them).
    """
    tokens = [(m, name, close) for m in TAG_RE.finditer(text) for name, close, lone in [tag_info(m)] if not lone]
    closes_after = [0] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        _, name, close = tokens[i]
        closes_after[i] = closes_after[i + 1] + (name == "think" and close)

    out: list[str] = []
    pos, depth, seen_open = 0, 0, False
    for i, (m, name, close) in enumerate(tokens):
        remaining = closes_after[i + 1]
        if name != "think":
            if depth and remaining == 0:  # unclosed block ends at this section tag
                depth, pos = 0, m.start()
            continue
        if not close:
            if depth == 0:
                out.append(text[pos : m.start()])
                depth, seen_open = 1, True
            elif remaining >= depth + 1:  # enough closers left: genuinely nested
                depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                pos = m.end()
        else:  # stray closing tag
            if not seen_open:
                out.clear()
                seen_open = True
            else:
                out.append(text[pos : m.start()])
            pos = m.end()
    if depth == 0:
        out.append(text[pos:])
    return "".join(out)


_NUMBER = numbers.PATTERN  # the one number grammar: "0,85" is 0.85, "1,200" is 1200
_CONFIDENCE_RE = re.compile(rf"(?P<value>{_NUMBER})\s*(?P<pct>%|percent\b)?", re.IGNORECASE)

_SHOWN_CHARS = 60  # what was written, as a note quotes it


@dataclass(frozen=True)
class ConfidenceReading:
    """A confidence as read: its value in [0, 1], or None (unknown) with `problem`,
    a phrase naming what was written and why it is no confidence ("" when nothing
    was written)."""

    value: float | None
    problem: str = ""


def _unknown(written_as: Any, why: str) -> ConfidenceReading:
    return ConfidenceReading(None, f"{one_line(str(written_as), _SHOWN_CHARS)!r} is no confidence ({why})")


def _in_text(text: str) -> ConfidenceReading:
    found = list(_CONFIDENCE_RE.finditer(text))
    if not found:
        return _unknown(text, "no number" if text.strip() else "empty")
    if len(found) > 1:
        return _unknown(text, "more than one number: a scale or a fraction is not read as one")
    value = numbers.to_float(found[0].group("value"))
    if value is None or math.isnan(value):
        return _unknown(text, "not a finite number")
    if found[0].group("pct"):
        if 0 <= value <= 100:
            return ConfidenceReading(value / 100)
        return _unknown(text, "a percentage outside 0-100%")
    if 0 <= value <= 1:
        return ConfidenceReading(value)
    return _unknown(text, "outside 0 to 1, and not written as a percentage")


def read_confidence(written_as: Any) -> ConfidenceReading:
    """A confidence as the arbiter wrote it, read only when it is one.

    A confidence is one number from 0 to 1 (0.85, ",85", 5e-1, a JSON number), or
    one percentage (85%, 85 percent), with any words around it. Anything else is
    unknown, never guessed: a number out of range (150, -0.3), a bare number above 1
    (85 or 9: a percentage or a 1-10 scale?), another scale (8/10, "9 on a scale of
    1-10", two numbers), NaN, inf, words ("high"), a boolean. Nothing written
    (None) is unknown with no problem to name (docs/confidence.md)."""
    if written_as is None:
        return ConfidenceReading(None)
    if isinstance(written_as, str):
        return _in_text(written_as)
    if isinstance(written_as, bool) or not isinstance(written_as, (int, float)):
        return _unknown(written_as, "not a number")
    if isinstance(written_as, float) and not math.isfinite(written_as):
        return _unknown(written_as, "not a finite number")
    if 0 <= written_as <= 1:  # compared before any conversion: a 400-digit int is no float
        return ConfidenceReading(float(written_as))
    return _unknown(written_as, "outside 0 to 1")


def parse_confidence(written_as: Any) -> float | None:
    """The value of `read_confidence`: a probability in [0, 1], or None when unknown."""
    return read_confidence(written_as).value


_FLAG_RE = re.compile(r"\b(true|yes|1|false|no|0)\b", re.IGNORECASE)


def parse_flag(written_as: Any) -> bool:
    """needs_iteration as written: True for true/yes/1 (text) or JSON true; False for
    false/no/0 and for anything unrecognised (asking for no more rounds is the default)."""
    if isinstance(written_as, bool):
        return written_as
    if not isinstance(written_as, str):
        return False
    m = _FLAG_RE.search(written_as)
    return m is not None and m.group(1).lower() in ("true", "yes", "1")


_BULLET_RE = re.compile(r"^(?:[-*+•–—]\s+|\d+[.)]\s+|\(\d+\)\s+)")
_NOTHING_RE = re.compile(r"(?:none|n/?a|nothing)\.?", re.IGNORECASE)


def parse_areas(written_as: Any) -> list[str]:
    """Refinement areas as written: one per non-blank line of text (bullets and
    numbering removed) or one per item of a JSON list; "none" means none."""
    if isinstance(written_as, list):
        lines = [str(item) for item in written_as]
    elif isinstance(written_as, str):
        lines = written_as.split("\n")
    else:
        return []
    areas: list[str] = []
    for line in lines:
        line = _BULLET_RE.sub("", line.strip()).strip()
        if line and not _NOTHING_RE.fullmatch(line) and line not in "-*+•":
            areas.append(line)
    return areas

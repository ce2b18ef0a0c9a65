"""Reading the arbiter's reply into a Verdict.

The reply is free-form model output. `parse_verdict` never raises and never lets raw
tags through to the user: a sloppy reply degrades to a less structured verdict
(``tagged=False``) instead of an error or a leaked tag.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

__all__ = ["Verdict", "parse_head", "parse_verdict"]


@dataclass
class Verdict:
    """What the arbiter decided in one round, parsed from its tagged reply.

    `synthesis` is what the user sees and never contains raw tags. `tagged` is False
    when the reply had no usable ``<synthesis>`` section, so the engine can tell a
    deliberate answer from a best-effort salvage (whose confidence is then None).
    """

    synthesis: str
    confidence: float | None = None
    needs_iteration: bool = False
    refinement_areas: list[str] = field(default_factory=list)
    analysis: str = ""
    dissent: str = ""
    tagged: bool = True
    raw: str = ""


# Canonical section name -> regex for the name as written (tolerant of '-', ' ', '_').
_FIELDS = {
    "analysis": r"analysis",
    "dissent": r"dissent",
    "synthesis": r"synthesis",
    "confidence": r"confidence",
    "needs_iteration": r"needs[\s_-]*iteration",
    "refinement_areas": r"refinement[\s_-]*areas",
}
_THINK = r"think(?:ing)?"

_NAME_ALT = "|".join(f"(?P<{key}>{pat})" for key, pat in _FIELDS.items())
# An opening or closing tag with whitespace allowed anywhere inside the brackets.
_TAG_RE = re.compile(rf"<\s*(?P<close>/)?\s*(?:(?P<think>{_THINK})|{_NAME_ALT})\s*>", re.IGNORECASE)
# For scrubbing output: also self-closing forms like <synthesis/>.
_STRIP_RE = re.compile(
    rf"<\s*/?\s*(?:{_THINK}|{'|'.join(_FIELDS.values())})\s*/?\s*>", re.IGNORECASE
)


def _strip_tags(text: str) -> str:
    """Remove every known tag, so none can reach the user.

    One pass is not enough: removing "<synthesis>" from "<syn<synthesis>thesis>"
    joins the halves into a fresh tag. A few passes settle any real reply; for
    deliberately deep nesting (which would make repeated passes quadratic) the
    leftover tags are defused instead, by swapping their "<" for a look-alike:
    that creates no new "<", so it cannot form a new tag.
    """
    for _ in range(8):
        cleaned = _STRIP_RE.sub("", text)
        if cleaned == text:
            return text
        text = cleaned
    return _STRIP_RE.sub(lambda m: "\u2039" + m.group(0)[1:], text)


def _tag_info(m: re.Match[str]) -> tuple[str, bool]:
    """(canonical name, is_closing) for a `_TAG_RE` match; think tags are "think"."""
    name = "think" if m.group("think") is not None else next(key for key in _FIELDS if m.group(key) is not None)
    return name, m.group("close") is not None


def _remove_think(text: str) -> str:
    """Drop reasoning blocks (<think>/<thinking>), keeping everything else.

    * Matched blocks are removed, nested ones included.
    * An opening tag never closed ends at the next arbiter section tag (or the end):
      a model that forgot to close its reasoning must not lose the answer after it.
    * A closing tag with no opening before it means the reasoning began at the very
      start (some chat templates put the opening tag in the prompt), so the text
      before the first such tag is dropped. Later stray closing tags are just removed.
    """
    tokens = [(m, *_tag_info(m)) for m in _TAG_RE.finditer(text)]
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


def _sections(text: str) -> list[tuple[str, str]]:
    """Split think-free text into top-level (name, content) sections, in order.

    A section tag inside another section is content (an arbiter quoting a member's
    forged "<synthesis>" inside its analysis must not create a synthesis) as long as
    the enclosing section is closed later. If it never is, the unclosed section ends
    where the next section opens, or at the end of the text.
    """
    tokens = [(m, *_tag_info(m)) for m in _TAG_RE.finditer(text)]
    tokens = [t for t in tokens if t[1] != "think"]
    # closes_after[i][name]: closing tags of `name` among tokens[i:].
    closes_after: list[dict[str, int]] = [{}] * (len(tokens) + 1)
    running: dict[str, int] = {}
    for i in range(len(tokens) - 1, -1, -1):
        _, name, close = tokens[i]
        if close:
            running = {**running, name: running.get(name, 0) + 1}
        closes_after[i] = running

    found: list[tuple[str, str]] = []
    current: str | None = None
    depth = start = 0
    for i, (m, name, close) in enumerate(tokens):
        if current is None:
            if not close:
                current, depth, start = name, 1, m.end()
            continue  # stray closing tags outside sections are ignored
        remaining = closes_after[i + 1].get(current, 0)
        if name == current and close:
            depth -= 1
            if depth == 0:
                found.append((current, text[start : m.start()]))
                current = None
        elif not close and remaining < depth + (name == current):
            # Not enough closers left for this to be nested: the current section
            # was left open and a new one starts here.
            found.append((current, text[start : m.start()]))
            current, depth, start = name, 1, m.end()
        elif name == current:
            depth += 1
    if current is not None:
        found.append((current, text[start:]))
    return found


_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:e[-+]?\d+)?"
_CONFIDENCE_RE = re.compile(
    rf"(?P<value>{_NUMBER})\s*(?P<pct>%|percent\b)?(?:\s*(?:/|out\s+of)\s*(?P<den>{_NUMBER}))?",
    re.IGNORECASE,
)


def _to_float(number: str) -> float:
    return float(number.replace(",", "."))


def _parse_confidence(text: str) -> float | None:
    """First number in `text` as a probability, or None if there is none.

    Accepts 0.85, 85, 85%, 0.85/1, 8 out of 10, 5e-1; a bare number above 1 (up to
    100) is read as a percentage. The result is clamped to [0, 1].
    """
    m = _CONFIDENCE_RE.search(text)
    if not m:
        return None
    value = _to_float(m.group("value"))
    if m.group("den") is not None:
        den = _to_float(m.group("den"))
        if not den > 0:
            return None
        value /= den
    elif m.group("pct") or 1 < value <= 100:
        value /= 100
    if math.isnan(value):
        return None
    return min(1.0, max(0.0, value))


_BOOL_RE = re.compile(r"\b(true|yes|1|false|no|0)\b", re.IGNORECASE)


def _parse_bool(text: str) -> bool:
    """True for true/yes/1, False for false/no/0 and for anything unrecognised."""
    m = _BOOL_RE.search(text)
    return bool(m) and m.group(1).lower() in ("true", "yes", "1")


_BULLET_RE = re.compile(r"^(?:[-*+•–—]\s+|\d+[.)]\s+|\(\d+\)\s+)")
_NOTHING_RE = re.compile(r"(?:none|n/?a|nothing)\.?", re.IGNORECASE)


def _parse_areas(text: str) -> list[str]:
    """One area per non-blank line, bullets and numbering removed; "none" means none."""
    areas: list[str] = []
    for line in text.split("\n"):
        line = _BULLET_RE.sub("", line.strip()).strip()
        if line and not _NOTHING_RE.fullmatch(line) and line not in "-*+•":
            areas.append(line)
    return areas


def _last_sections(visible: str):
    """`last(name)`: the last non-empty section `name` of think-free text, tags stripped."""
    sections = _sections(visible)

    def last(name: str) -> str | None:
        for key, content in reversed(sections):
            if key == name:
                cleaned = _strip_tags(content).strip()
                if cleaned:
                    return cleaned
        return None

    return last


def parse_head(text: str) -> Verdict | None:
    """The verdict an arbiter wrote before its synthesis, or None when incomplete.

    Complete means a readable confidence and a needs_iteration section: without them
    nobody can tell, before the synthesis, whether the round is final (see
    `reply_stream`). The Verdict's synthesis and raw text are empty.
    """
    last = _last_sections(_remove_think(text.replace("\r\n", "\n").replace("\r", "\n")))
    confidence_text = last("confidence")
    needs_iteration = last("needs_iteration")
    if confidence_text is None or needs_iteration is None:
        return None
    confidence = _parse_confidence(confidence_text)
    if confidence is None:
        return None
    return Verdict(
        synthesis="",
        confidence=confidence,
        needs_iteration=_parse_bool(needs_iteration),
        refinement_areas=_parse_areas(last("refinement_areas") or ""),
        analysis=last("analysis") or "",
        dissent=last("dissent") or "",
    )


def parse_verdict(raw: str) -> Verdict:
    """Read the arbiter's reply into a Verdict. Never raises for any str.

    The last non-empty ``<synthesis>`` outside reasoning blocks wins, because models
    draft and then restate. With no usable synthesis the whole visible reply, tags
    stripped, becomes the synthesis and confidence is None (``tagged=False``), so the
    user still gets an answer but the engine does not trust a number it cannot place.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    visible = _remove_think(text)
    last = _last_sections(visible)
    synthesis = last("synthesis")
    tagged = synthesis is not None
    if synthesis is None:
        # Not a warning here: the engine warns once per run, not once per parse.
        logger.debug("Arbiter reply had no usable <synthesis> section; using the whole reply")
        synthesis = _strip_tags(visible).strip()
        confidence = None
    else:
        conf_text = last("confidence")
        confidence = _parse_confidence(conf_text) if conf_text is not None else None
    return Verdict(
        synthesis=synthesis,
        confidence=confidence,
        needs_iteration=_parse_bool(last("needs_iteration") or ""),
        refinement_areas=_parse_areas(last("refinement_areas") or ""),
        analysis=last("analysis") or "",
        dissent=last("dissent") or "",
        tagged=tagged,
        raw=raw,
    )

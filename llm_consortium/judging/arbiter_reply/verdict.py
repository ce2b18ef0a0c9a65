"""The parts of reading the arbiter's reply into a Verdict: the verdict written
before a synthesis (`parse_head`) and the reading of a reply that is not
verdict-first (`read_whole`).

The one rule that puts them together, for a streamed reply and a whole one alike, is
`reader.parse_verdict` (docs/confidence.md#reading-the-arbiters-reply). The reply is
free-form model output: nothing here raises or lets raw tags through to the user; a
sloppy reply degrades to a less structured verdict (``tagged=False``) instead of an
error or a leaked tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .grammar import (
    TAG_RE,
    parse_areas,
    parse_confidence,
    parse_flag,
    read_confidence,
    remove_think,
    strip_tags,
    tag_info,
)

logger = logging.getLogger(__name__)

__all__ = ["Verdict", "parse_head", "read_whole"]


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
    # Why a tagged verdict's confidence is unknown, naming what was written
    # (`grammar.read_confidence`); "" when it is known or the reply had no tags.
    confidence_note: str = ""


def _section_tags(text: str) -> list[tuple[re.Match[str], str, bool]]:
    """Every opening or closing section tag in `text`: (match, name, is closing)."""
    tags = []
    for m in TAG_RE.finditer(text):
        name, close, lone = tag_info(m)
        if name != "think" and not lone:
            tags.append((m, name, close))
    return tags


def _sections(text: str) -> list[tuple[str, str]]:
    """Split think-free text into top-level (name, content) sections, in order.

    A section tag inside another section is content (an arbiter quoting a member's
    forged "<synthesis>" inside its analysis must not create a synthesis) as long as
    the enclosing section is closed later. If it never is, the unclosed section ends
    where the next section opens, or at the end of the text.
    """
    tokens = _section_tags(text)
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


def _last_sections(visible: str) -> Callable[[str], str | None]:
    """`last(name)`: the last non-empty section `name` of think-free text, tags stripped."""
    sections = _sections(visible)

    def last(name: str) -> str | None:
        for key, content in reversed(sections):
            if key == name:
                cleaned = strip_tags(content).strip()
                if cleaned:
                    return cleaned
        return None

    return last


def parse_head(text: str) -> Verdict | None:
    """The verdict an arbiter wrote before its synthesis, or None when incomplete.

    Complete means a readable confidence and a needs_iteration section: without them
    nobody can tell, before the synthesis, whether the round is final (see
    `reader`). The Verdict's synthesis and raw text are empty.
    """
    last = _last_sections(remove_think(text.replace("\r\n", "\n").replace("\r", "\n")))
    confidence_text = last("confidence")
    needs_iteration = last("needs_iteration")
    if confidence_text is None or needs_iteration is None:
        return None
    confidence = parse_confidence(confidence_text)
    if confidence is None:
        return None
    return Verdict(
        synthesis="",
        confidence=confidence,
        needs_iteration=parse_flag(needs_iteration),
        refinement_areas=parse_areas(last("refinement_areas") or ""),
        analysis=last("analysis") or "",
        dissent=last("dissent") or "",
    )


def read_whole(raw: str) -> Verdict:
    """A reply that is not verdict-first (no complete verdict before its first
    synthesis), read whole. Never raises for any str.

    The last non-empty ``<synthesis>`` outside reasoning blocks wins, because models
    draft and then restate, with the last of each other section. With no usable
    synthesis the whole visible reply, tags stripped, becomes the synthesis and
    confidence is None (``tagged=False``), so the user still gets an answer but the
    engine does not trust a number it cannot place.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    visible = remove_think(text)
    last = _last_sections(visible)
    synthesis = last("synthesis")
    tagged = synthesis is not None
    note = ""
    if synthesis is None:
        # Not a warning here: the engine warns once per run, not once per parse.
        logger.debug("Arbiter reply had no usable <synthesis> section; using the whole reply")
        synthesis = strip_tags(visible).strip()
        confidence = None
    else:
        conf_text = last("confidence")
        reading = read_confidence(conf_text)
        confidence = reading.value
        if confidence is None:
            note = reading.problem or "no <confidence> was written"
    return Verdict(
        synthesis=synthesis,
        confidence=confidence,
        needs_iteration=parse_flag(last("needs_iteration") or ""),
        refinement_areas=parse_areas(last("refinement_areas") or ""),
        analysis=last("analysis") or "",
        dissent=last("dissent") or "",
        tagged=tagged,
        raw=raw,
        confidence_note=note,
    )

"""Fencing untrusted text inside a prompt.

Member answers (and anything else a model wrote) reach another model's prompt inside
fenced blocks whose fence carries a random nonce chosen after the text exists and
checked against it, so no text can close its own block early or pose as another
block or as instructions.
"""

from __future__ import annotations

import re
import secrets


def _new_nonce(length: int) -> str:
    """A fresh random hex string; separate so tests can force collisions."""
    return secrets.token_hex((length + 1) // 2)[:length]


def pick_nonce(texts: list[str]) -> str:
    """A nonce that occurs in none of `texts` (case-insensitively).

    Random, so an answer written before the prompt existed cannot predict it;
    checked, so an answer that contains it anyway (by chance or by brute force)
    cannot forge a fence. The length grows after repeated clashes, so this always
    ends: a finite text cannot contain every string of every length.
    """
    haystack = "\x00".join(texts).lower()
    length, tries = 8, 0
    while True:
        nonce = _new_nonce(length).lower()
        if nonce and nonce not in haystack:
            return nonce
        tries += 1
        if tries % 8 == 0:
            length += 4


def fenced(title: str, body: str, nonce: str) -> str:
    """`body` verbatim between a start and an end fence that both carry `nonce`."""
    return f"<<<{title} {nonce}>>>\n{body}\n<<<END {title} {nonce}>>>"


FENCE_TITLES = (
    "REQUEST", "RESPONSE", "TOOL CALLS", "USER TURN", "ASSISTANT TURN", "YOUR PREVIOUS ANSWER", "COMBINED ANSWER",
    "DISSENT", "AREAS", "YOUR ANSWER", "OTHER ANSWER", "ANSWER", "REVIEWERS ON RESPONSE", "QUESTION", "REFERENCE",
)
"""The titles the plugin's prompts give their fenced blocks."""

_TITLE = "|".join(re.escape(title).replace(r"\ ", r"[ \t]+") for title in sorted(FENCE_TITLES, key=len, reverse=True))
_NONCE = r"(?:(?=[0-9a-f]*[a-f])[0-9a-f]{1,64}|[0-9a-f]{6,64})"  # a hex string that is not a short number
# A fence as a model echoes it: two or three "<", END or not, one of the plugin's
# titles with its label and nonce (either may be missing or cut short) and the
# closing ">" when there is one; or any upper-case title followed by a nonce.
_MARKER = re.compile(
    rf"<{{2,3}}[ \t]*(?:END[ \t]+)?"
    rf"(?:(?:{_TITLE})\b(?:[ \t]+[A-Z0-9]{{1,4}}\b)?(?:[ \t]+(?:{_NONCE}\b|[0-9a-f]{{1,64}}(?=[ \t]*>)))?"
    rf"|[A-Z][A-Z ]{{0,40}}[ \t]{_NONCE}\b)"
    r"[ \t]*(?:…|\.\.\.)?>{0,3}"
)
# The start of a fence where a reply was cut off (its window ran out): "<<", "<<<END RES".
_CUT_OFF = re.compile(r"<{2,3}[ \t]*[A-Z][A-Z0-9 \t]*\Z|<{2,3}\Z")


def strip_markers(text: str) -> tuple[str, int]:
    """`text` without the fence markers a model echoed from its prompt, and how many
    were removed: the lines they leave empty go with them, and so do the spaces at
    either end when any was removed, and a fence cut off at the end of a reply that
    echoed others. Small models copy the fences of the answers they were shown
    (`<<<OTHER ANSWER 1 b86050bc>>`); the echo is never an answer."""
    found = len(_MARKER.findall(text))
    if not found:
        return text, 0
    kept = []
    for line in text.splitlines():
        if _MARKER.search(line):
            line = _MARKER.sub("", line)
            if not line.strip():
                continue
        kept.append(line)
    left = "\n".join(kept).strip()
    if _CUT_OFF.search(left):
        left, found = _CUT_OFF.sub("", left).strip(), found + 1
    return left, found

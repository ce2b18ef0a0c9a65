"""Consensus without an arbiter: normalise the members' answers, group the ones that
say the same thing, and let the largest group win.

Pure standard library, and deterministic: the same answers in the same member order
always give the same groups, the same winner and the same shares, so a vote can be
replayed from its trace and tested without any model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SIMILARITY_CUTOFF = 0.75
"""Two answers whose word sets have a Jaccard similarity of at least this are one vote.

Why 0.75: a sentence of six or more words that is reworded, reordered or gains one
word stays above it ("the capital of france is paris" against "paris is the capital
city of france": 6/7 = 0.86), while short answers that differ in their one word of
substance stay below it ("the answer is blue" against "the answer is red": 3/5 = 0.6).
Numbers get a stricter rule of their own (see `similarity`), because "the answer is
41" and "the answer is 42" differ in one word however long the sentence around them.
Long free-form answers that agree in substance but not in wording rarely reach the
cut-off; that is why a trailing "Final answer: X" line is voted on by itself.
"""

# The trailing line a member may end with, e.g. "Final answer: 42" or "**Answer:** Paris".
_ANSWER_LINE_RE = re.compile(
    r"^[\s*_#>-]*(?:final\s+)?answer\s*[*_]*\s*[:：]\s*(?P<answer>.+?)\s*$", re.IGNORECASE
)
# Punctuation stripped from both ends; signs, currency and % carry meaning and stay.
_SURROUNDING = " \t\r\n.,;:!?\"'`*_()[]{}<>«»“”‘’„"
_TOKEN_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)*|\w+")


def final_answer(text: str) -> str:
    """The answer a reply states on its last line ("Final answer: X"), else the reply."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines:
        match = _ANSWER_LINE_RE.match(lines[-1])
        if match and match.group("answer").strip(_SURROUNDING):
            return match.group("answer")
    return text


def normalise(text: str) -> str:
    """The comparable form of an answer: its stated final answer if it has one,
    Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed."""
    text = unicodedata.normalize("NFKC", final_answer(text))
    return " ".join(text.casefold().split()).strip(_SURROUNDING)


def _tokens(normalised: str) -> set[str]:
    return set(_TOKEN_RE.findall(normalised))


def similarity(a: str, b: str) -> float:
    """How alike two normalised answers are, 0 to 1: Jaccard similarity of their word
    sets, except that answers naming different sets of numbers are never alike."""
    if a == b:
        return 1.0
    ta, tb = _tokens(a), _tokens(b)
    if {t for t in ta if any(c.isdigit() for c in t)} != {t for t in tb if any(c.isdigit() for c in t)}:
        return 0.0
    union = ta | tb
    return len(ta & tb) / len(union) if union else 0.0


@dataclass(frozen=True)
class Group:
    """Answers counted as one: member indexes, their share of the answers, and the
    most central one (the member whose answer is most like the rest of the group)."""

    members: tuple[int, ...]
    share: float
    central: int
    answer: str
    key: str


def group(answers: Sequence[str | None]) -> list[Group]:
    """Group answers (None or blank for a member with no answer), largest group first.

    An answer joins the group holding an identical normalised answer; failing that,
    the group whose first answer is most similar to it, if at least SIMILARITY_CUTOFF
    (comparing with the first answer, not any member, stops chains of small steps
    from joining unlike answers); else it starts a group. Ties go to the group that
    formed first, so earlier members win ties throughout. Shares are of the members
    that answered and sum to 1.
    """
    present = [(i, text) for i, text in enumerate(answers) if text is not None and text.strip()]
    keys = {i: normalise(text) for i, text in present}
    clusters: list[list[int]] = []
    for i, _ in present:
        home = next((c for c in clusters if any(keys[j] == keys[i] for j in c)), None)
        if home is None:
            best = 0.0
            for cluster in clusters:
                score = similarity(keys[cluster[0]], keys[i])
                if score >= SIMILARITY_CUTOFF and score > best:
                    home, best = cluster, score
        if home is None:
            clusters.append([i])
        else:
            home.append(i)
    texts = dict(present)
    groups = []
    for cluster in clusters:
        central = max(
            cluster,
            key=lambda i: (sum(similarity(keys[i], keys[j]) for j in cluster if j != i), -i),
        )
        groups.append(
            Group(tuple(cluster), len(cluster) / len(present), central, texts[central], keys[central])
        )
    groups.sort(key=lambda g: (-len(g.members), g.members[0]))
    return groups


def tally(answers: Sequence[str | None], names: Sequence[str]) -> tuple[Group, dict[str, Any]]:
    """Judge one round: the winning group, and the round's vote for the trace
    (every group's answer, member names and share; the winner's name and share)."""
    groups = group(answers)
    if not groups:
        raise ValueError("no answers to vote on")
    trace = {
        "groups": [
            {"answer": g.answer, "members": [names[i] for i in g.members], "share": g.share}
            for g in groups
        ],
        "winner": names[groups[0].central],
        "share": groups[0].share,
    }
    return groups[0], trace

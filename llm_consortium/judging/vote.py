"""Consensus without an arbiter: normalise the members' answers, group the ones that
say the same thing, and let the largest group win.

Pure standard library, and deterministic: the same answers in the same member order
always give the same groups, the same winner and the same shares, so a vote can be
replayed from its trace and tested without any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..text.cuts import shortened
from . import matching
from .matching import AUTO, Grouping, Matcher

# One implementation of the rules, shared with the scorers and the tests.
similarity = matching.similarity
final_answer = matching.final_answer

SHOWN_CHARS = 200
"""A conclusion longer than this is cut in the trace (a reply of a million digits
is compared whole, but not copied into every group record)."""


def normalise(text: str) -> str:
    """The comparable form of a whole answer: its stated final answer line if it has
    one, Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed."""
    return matching.normalise(final_answer(text))


@dataclass(frozen=True)
class Group:
    """Answers counted as one: member indexes, their share of the answers, and the
    most central one (the member whose answer is most like the rest of the group)."""

    members: tuple[int, ...]
    share: float
    central: int
    answer: str
    key: str  # the conclusion that made these answers one group
    reduced: tuple[matching.Conclusion, ...] = ()  # each member's conclusion and rule, aligned with members


def confidence(agreeing: int, panel: int) -> float:
    """How sure the members' agreement makes a run of an answer: the members that gave
    it over every member the panel configures (the tiers asked), so a member that
    failed, timed out or was never called counts against it and never for it, and
    more members agreeing always raise it (docs/confidence.md)."""
    if panel < 1:
        raise ValueError("a panel has at least one member")
    return min(1.0, max(0, agreeing) / panel)


def _present(answers: Sequence[str | None]) -> list[tuple[int, str]]:
    return [(i, text) for i, text in enumerate(answers) if text is not None and text.strip()]


def groups_of(answers: Sequence[str | None], grouping: Grouping) -> list[Group]:
    """The vote's groups from a matcher's clusters of the present answers, largest
    first (ties: the group that formed first). Shares are of the members that
    answered and sum to 1; a group's central answer is the wording most like the
    rest of its group (earliest member on ties)."""
    present = _present(answers)
    texts = dict(present)
    keys = {i: normalise(text) for i, text in present}
    groups = []
    for cluster in grouping.clusters:
        members = [present[k][0] for k in cluster.members]
        central = max(
            members, key=lambda i: (sum(similarity(keys[i], keys[j]) for j in members if j != i), -i)
        )
        groups.append(
            Group(tuple(members), len(members) / len(present), central, texts[central], cluster.label, cluster.reduced)
        )
    groups.sort(key=lambda g: (-len(g.members), g.members[0]))
    return groups


def group(answers: Sequence[str | None], matcher: matching.PureMatcher = AUTO, prompt: str = "") -> list[Group]:
    """Group answers to `prompt` (None or blank for a member with no answer) with a
    matcher that needs no model (`auto` unless given), largest group first."""
    present = _present(answers)
    return groups_of(answers, Grouping(matcher.clusters([text for _, text in present], prompt)))


def _traced(groups: list[Group], names: Sequence[str], mode: str) -> dict[str, Any]:
    traced = []
    for g in groups:
        record: dict[str, Any] = {
            "answer": g.answer, "extracted": shortened(g.key, SHOWN_CHARS), "members": [names[i] for i in g.members],
            "share": g.share,
        }
        if g.reduced:
            record["conclusions"] = [
                {"member": names[i], "conclusion": shortened(c.value, SHOWN_CHARS), "rule": c.rule}
                for i, c in zip(g.members, g.reduced, strict=True)
            ]
        traced.append(record)
    return {"matching": mode, "groups": traced, "winner": names[groups[0].central], "share": groups[0].share}


def tally(
    answers: Sequence[str | None], names: Sequence[str], matcher: matching.PureMatcher = AUTO, prompt: str = ""
) -> tuple[Group, dict[str, Any]]:
    """Judge one round with a matcher that needs no model: the winning group, and
    the round's vote for the trace (every group's answer, the extracted answer that
    made it a group, member names and share; the winner's name and share)."""
    groups = group(answers, matcher, prompt)
    if not groups:
        raise ValueError("no answers to vote on")
    return groups[0], _traced(groups, names, matcher.mode)


async def tally_async(
    answers: Sequence[str | None], names: Sequence[str], matcher: Matcher | None = None, prompt: str = ""
) -> tuple[Group, dict[str, Any], Grouping]:
    """`tally` with any matcher, model-backed ones included; also returns the
    matcher's Grouping, whose `calls` the run counts in its usage."""
    matcher = matcher if matcher is not None else AUTO
    present = _present(answers)
    if not present:
        raise ValueError("no answers to vote on")
    grouping = await matcher.group([text for _, text in present], prompt)
    groups = groups_of(answers, grouping)
    return groups[0], _traced(groups, names, matcher.mode), grouping

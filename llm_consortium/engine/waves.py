"""Calling a tier's members in waves (docs/savings.md): each group that votes among
itself is asked first with the fewest members whose agreement could decide its vote,
and the rest only when that first wave did not. Without waves, the whole tier at once.
"""

from __future__ import annotations

from ..judging import agreement
from ..trace import VoteRecord
from ..types import Participant
from .context import RunContext
from .decide import count
from .fanout import RoundState, fan_out, member_calls


def group_sizes(vote: VoteRecord) -> list[int]:
    """How many answers each group of a vote holds, largest group first."""
    return [len(group.get("members", [])) for group in vote.get("groups", [])]


def _wave_groups(ctx: RunContext, members: list[Participant]) -> list[list[int]]:
    """Which members vote among themselves, so can be called in waves: in a vote the
    whole tier; with an arbiter, each model's instances (`count`)."""
    if ctx.votes:
        return [list(range(len(members)))]
    by_model: dict[str, list[int]] = {}
    for index, member in enumerate(members):
        by_model.setdefault(member.model_id, []).append(index)
    return list(by_model.values())


async def ask(ctx: RunContext, rnd: RoundState, members: list[Participant], previous: RoundState | None) -> None:
    """Fan out to one tier, which joins the round's panel. With waves, each group
    that votes among itself is asked first with the fewest members whose agreement
    would decide its vote and reach the confidence threshold over the whole group
    (`agreement.first_wave`), and the rest of the group only when that first wave
    did not; a member held back still counts in the panel (docs/confidence.md)."""
    rnd.panel += len(members)
    calls = member_calls(ctx, members, previous)
    threshold = ctx.settings.confidence_threshold
    groups = _wave_groups(ctx, members) if ctx.settings.waves else [list(range(len(members)))]
    first = [
        group[: agreement.first_wave(len(group), threshold)] if ctx.settings.waves else group for group in groups
    ]
    now = [i for wave in first for i in wave]
    await fan_out(ctx, rnd, [members[i] for i in now], [calls[i] for i in now])
    if len(now) == len(members):
        return
    later: list[int] = []
    for group, wave in zip(groups, first, strict=True):
        rest = group[len(wave):]
        outcomes = [rnd.outcome_of(members[i]) for i in wave]
        answers = [o.reply.text if o is not None and o.reply is not None else None for o in outcomes]
        sizes = []
        if any(answers):
            _, vote, _ = await count(ctx, rnd, answers, [members[i].name for i in wave])
            sizes = group_sizes(vote)
        if rest and not agreement.decided(sizes, len(rest), threshold):
            later += rest
    skipped = len(members) - len(now) - len(later)
    ctx.saved["waves"] += skipped
    waves = rnd.record.setdefault("waves", {"called": 0, "skipped": 0})  # summed over the tiers
    waves["called"] += len(now) + len(later)
    waves["skipped"] += skipped
    if later:
        await fan_out(ctx, rnd, [members[i] for i in later], [calls[i] for i in later])

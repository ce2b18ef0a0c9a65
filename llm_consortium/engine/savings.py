"""The steps that make a round spend only what its question needs (docs/savings.md):
tiers asked cheap first, the arbiter skipped when every answer agrees (members
called in waves: `waves.py`), and what a budget stop answers with (the check itself is made before
every call: `RunContext.afford`).

Each decision is a rule of `judging.agreement` or `calls.costs`, applied to the
vote's own grouping of the answers (`format.tally`); this module only applies them
to the run, counts the calls they saved, and says why in the round's record.
"""

from __future__ import annotations

from typing import Any

from ..calls import costs
from ..judging import agreement
from ..judging.arbiter_reply.verdict import Verdict
from ..trace import RunUsage, TierRecord, VoteRecord
from ..types import Participant
from .context import RunContext, logger
from .decide import count
from .fanout import RoundState
from .waves import group_sizes


def tiers(ctx: RunContext) -> list[list[Participant]]:
    """The members by tier, the tier asked first first; one tier without tiers."""
    numbers = sorted({member.tier for member in ctx.members})
    return [[m for m in ctx.members if m.tier == n] for n in numbers]


async def _tally(ctx: RunContext, rnd: RoundState) -> tuple[Any, VoteRecord, list[int]]:
    """The vote on every answer of the round so far (`decide.count`, the run's
    matcher): (winner, its trace, group sizes)."""
    winner, vote, _ = await count(ctx, rnd)
    return winner, vote, group_sizes(vote)


async def disagreement(ctx: RunContext, rnd: RoundState) -> str | None:
    """Why the next tier is asked before any arbiter: the largest group's share of the
    answers so far is below the agreement level (None: they agree enough)."""
    if not rnd.answered:
        return "no member of this tier answered"
    winner, _, _ = await _tally(ctx, rnd)
    return agreement.escalation(winner.share, ctx.settings.agreement)


def unsure(ctx: RunContext, rnd: RoundState) -> str | None:
    """Why the next tier is asked after the arbiter judged this one's answers: its
    confidence is below the threshold, or it gave no usable verdict."""
    if ctx.votes:
        return None
    if rnd.verdict is None:
        return "the arbiter gave no usable verdict"
    return agreement.escalation(1.0, 0.0, rnd.verdict.confidence, ctx.settings.confidence_threshold)


async def agreed(ctx: RunContext, rnd: RoundState) -> Verdict | None:
    """The round's verdict without an arbiter when every member that answered (at
    least two) gave the same answer; None when the arbiter must judge."""
    if ctx.votes or not ctx.settings.skip_arbiter_on_agreement or rnd.answered < 2:
        return None
    winner, vote, sizes = await _tally(ctx, rnd)
    confidence = rnd.agreement_confidence(winner.share)  # failed and unasked members count against it
    if not agreement.unanimous(sizes) or confidence < ctx.settings.confidence_threshold:
        return None
    rnd.record["vote"] = vote
    rnd.record["arbiter_skipped"] = f"all {sizes[0]} answers agree"
    ctx.saved["agreement"] += 1
    return Verdict(winner.answer, confidence)


async def best_so_far(ctx: RunContext, rnd: RoundState) -> None:
    """A round cut short before its verdict (the budget): the members' vote on the
    answers it has, with the confidence of the whole panel, when at least
    `min_members` answered; else the round failed (an earlier round's answer stands)."""
    if rnd.verdict is not None or not rnd.members:
        return
    if rnd.answered >= ctx.settings.min_members:
        winner, rnd.record["vote"], _ = await _tally(ctx, rnd)
        rnd.verdict = Verdict(winner.answer, rnd.agreement_confidence(winner.share))
    else:
        rnd.record["failed"] = (
            f"only {rnd.answered} of {rnd.panel} members had answered when the budget stopped the run "
            f"(at least {ctx.settings.min_members} needed)"
        )


def stop(ctx: RunContext, round_number: int, reason: str, rnd: RoundState) -> None:
    """End the run for the budget: the reason in the trace, and a warning on stderr
    when the run still answers (a run that cannot answer fails with the reason)."""
    ctx.stopped = f"budget: {reason}"
    ctx.note(round_number, f"stopped for the budget: {reason}; answered with the best so far")
    if ctx.candidates or rnd.answered >= ctx.settings.min_members:
        logger.warning("Consortium: stopped for the budget: %s; answering with the best so far", reason)


def tier_record(number: int, members: list[Participant]) -> TierRecord:
    return TierRecord(tier=number, members=[m.name for m in members])


def usage(ctx: RunContext) -> RunUsage:
    """The run's usage, with its cost when every model's price is known and the calls
    the savings did not make."""
    total = ctx.usage.as_dict()
    cost = costs.cost(ctx.usage.per_model, ctx.settings.prices) if ctx.settings.prices else None
    if cost is not None and ctx.usage.per_model and ctx.usage.known:  # unknown tokens: unknown cost
        total["cost_usd"] = cost
    saved = {kind: count for kind, count in ctx.saved.items() if count}
    if saved:
        total["calls_saved"] = saved
    if ctx.estimated:  # what the budget counted for usage no model reported
        total["estimated"] = {
            model: {"input": round(tokens_in), "output": round(tokens_out)}
            for model, (tokens_in, tokens_out) in ctx.estimated.items()
        }
    return total

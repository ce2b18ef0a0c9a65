"""One round, as a sequence of steps:

1. **fan-out** (`fanout`, through `waves.ask`): the members of the tier
   are asked at once;
2. **quorum**: enough members answered, or the round fails;
3. **escalate on disagreement** (`savings`): with a tier left, answers sharing less
   than the agreement level go to the next tier before any arbiter;
4. **review** (`peer_review`, when the consortium asks for it): members rank each other's
   answers, and the ranking informs the arbiter or, without one, decides;
5. **decide** (`decide`): the arbiter judges every answer so far, or the members vote;
   when every answer agrees the arbiter (and the review) is skipped (`savings.agreed`);
6. **escalate on doubt**: with a tier left, an arbiter below the threshold asks it.

The budget is checked before every call (`RunContext.afford`, in the fan-out, the
review and the arbiter's call): a call that could pass it ends the round here with the
members' vote on the answers it has (`savings.best_so_far`). The stop rule between
rounds is the deliberation's (`deliberation`). A new step is one more function here,
taking the run's context and the round's state like the others.
"""

from __future__ import annotations

from ..errors import BudgetStop
from ..trace import RoundRecord
from ..types import Participant
from . import savings, waves
from .context import RunContext
from .decide import decide
from .fanout import RoundState
from .peer_review import review


def quorum_problem(ctx: RunContext, rnd: RoundState) -> str | None:
    """Why the round cannot be decided (too few answers), or None."""
    if rnd.answered >= ctx.settings.min_members:
        return None
    return (
        f"only {rnd.answered} of {len(rnd.members)} members answered "
        f"(at least {ctx.settings.min_members} needed)"
    )


async def play(ctx: RunContext, number: int, previous: RoundState | None) -> RoundState:
    """Run round `number`; its state says how it ended: `record["failed"]` when too few
    members answered, else `verdict` (None when the arbiter failed)."""
    ctx.emit("round_start", number)
    rnd = RoundState(number, RoundRecord(round=number, members=[]))
    ctx.round, ctx.record = number, rnd.record
    try:
        return await _play(ctx, rnd, previous)
    finally:
        if rnd.panel:
            rnd.record["panel"] = rnd.panel


async def _play(ctx: RunContext, rnd: RoundState, previous: RoundState | None) -> RoundState:
    number = rnd.number
    groups = savings.tiers(ctx)
    for index, members in enumerate(groups):
        ctx.tiers_left = len(groups) - index - 1
        try:
            escalated = await _tier(ctx, rnd, members, previous)
        except BudgetStop as stop:
            savings.stop(ctx, number, str(stop), rnd)
            await savings.best_so_far(ctx, rnd)
            return rnd
        if len(groups) > 1:
            entry = savings.tier_record(index + 1, members)
            if escalated:
                entry["escalated"] = escalated
                if rnd.verdict is not None and "arbiter" in rnd.record:
                    entry["arbiter"] = rnd.record["arbiter"]
            rnd.record.setdefault("tiers", []).append(entry)
        if not escalated:
            ctx.saved["tiers"] += sum(len(later) for later in groups[index + 1:])
            break
    ctx.tiers_left = 0
    return rnd


async def _tier(
    ctx: RunContext, rnd: RoundState, members: list[Participant], previous: RoundState | None
) -> str | None:
    """Ask one tier and decide on every answer so far; returns why the next tier must
    be asked (only while one is left), else None with the round's outcome set."""
    await waves.ask(ctx, rnd, members, previous)
    problem = quorum_problem(ctx, rnd)
    if problem is not None:
        if ctx.tiers_left:
            return problem
        rnd.record["failed"] = problem
        return None
    if ctx.tiers_left and (reason := await savings.disagreement(ctx, rnd)):
        return reason
    rnd.verdict = await savings.agreed(ctx, rnd)
    if rnd.verdict is None:
        if ctx.settings.review:
            rnd.review = await review(ctx, rnd)
        await decide(ctx, rnd)
    return savings.unsure(ctx, rnd) if ctx.tiers_left else None

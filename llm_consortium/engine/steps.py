"""One round, as a sequence of steps:

1. **fan-out** (`fanout`): every member (of the tier) is asked at once;
2. **quorum**: enough members answered, or the round fails;
3. **decide** (`judge`): the arbiter judges the answers, or the members vote;
4. **escalate**: with tiers, whether the next tier is asked too (then 1-4 again,
   the arbiter seeing every answer gathered so far).

The stop rule between rounds is the deliberation's (`deliberation`). A new step
(peer review between fan-out and decide, say) is one more function here, taking the
run's context and the round's state like the others.
"""

from __future__ import annotations

from ..trace import RoundRecord
from ..types import Participant
from .context import RunContext
from .fanout import RoundState, fan_out, member_calls
from .judge import decide


def tiers(ctx: RunContext) -> list[list[Participant]]:
    """The members in the order they are asked: one tier of everyone for now."""
    return [ctx.members]


def quorum_problem(ctx: RunContext, rnd: RoundState) -> str | None:
    """Why the round cannot be decided (too few answers), or None."""
    if rnd.answered >= ctx.settings.min_members:
        return None
    return (
        f"only {rnd.answered} of {len(rnd.members)} members answered "
        f"(at least {ctx.settings.min_members} needed)"
    )


def escalates(ctx: RunContext, rnd: RoundState, tier: int) -> bool:
    """Whether the round asks the next tier after this one's verdict."""
    return False


async def play(ctx: RunContext, number: int, previous: RoundState | None) -> RoundState:
    """Run round `number`; its state says how it ended: `record["failed"]` when too few
    members answered, else `verdict` (None when the arbiter failed)."""
    ctx.emit("round_start", number)
    rnd = RoundState(number, RoundRecord(round=number, members=[]))
    for index, members in enumerate(tiers(ctx)):
        await fan_out(ctx, rnd, members, member_calls(ctx, members, previous))
        problem = quorum_problem(ctx, rnd)
        if problem is not None:
            rnd.record["failed"] = problem
            return rnd
        await decide(ctx, rnd)
        if not escalates(ctx, rnd, index):
            break
    return rnd

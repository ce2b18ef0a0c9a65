"""The fan-out step: what each member is asked this round, and calling them all at once.

Sibling calls run in one `asyncio.TaskGroup`: when the run is cancelled (Ctrl-C, a
caller's timeout) every member call is cancelled with it, and the usage of the calls
that had finished is already counted. A member whose call or answer check goes wrong
in a way nobody planned for fails alone, with the error in the trace: one member's
reply can never end the whole run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from ..calls.policy import describe
from ..judging import answer_parts, prompts, vote
from ..judging.arbiter_reply.verdict import Verdict
from ..judging.ranking import PeerRanking
from ..text.fencing import strip_markers
from ..text.words import plural
from ..trace import CallRecord, RoundRecord
from ..types import Call, Outcome, Participant
from . import windows
from .call_records import call_record
from .context import RunContext


@dataclass
class RoundState:
    """One round as its steps build it: who was called, in order, how each call ended
    (aligned with `members` and the trace's member records), and the round's verdict.

    `panel` is how many members the tiers asked so far configure, whether they were
    called, answered, failed or were held back by waves: the denominator of every
    confidence the members' agreement gives (docs/confidence.md)."""

    number: int
    record: RoundRecord
    members: list[Participant] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    verdict: Verdict | None = None
    review: PeerRanking | None = None
    # The round's votes by (answers, names): each set of answers is grouped once,
    # however many steps (escalation, skip, vote, fallback) ask how they group.
    votes: dict[tuple[tuple[str | None, ...], tuple[str, ...]], Any] = field(default_factory=dict)
    panel: int = 0

    def agreement_confidence(self, share: float) -> float:
        """The confidence of an answer held by `share` of the answers: the members
        that gave it over the whole panel (`vote.confidence`)."""
        return vote.confidence(round(share * self.answered), max(self.panel, len(self.members)))

    def answers(self) -> list[str | None]:
        return [outcome.reply.text if outcome.reply is not None else None for outcome in self.outcomes]

    def outcome_of(self, member: Participant) -> Outcome | None:
        for called, outcome in zip(self.members, self.outcomes, strict=True):
            if called is member:
                return outcome
        return None

    @property
    def answered(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.ok)


def member_calls(ctx: RunContext, members: list[Participant], previous: RoundState | None) -> list[Call]:
    """What each of `members` is asked: the prompt in the first round; after a vote,
    the others' answers (peer prompts); after a verdict, its own answer to refine.
    Prompts of round 2+ are made to fit each member's context window (`windows`)."""
    req = ctx.request
    before = [previous.outcome_of(m) if previous is not None else None for m in members]
    own = [o.reply.text if o is not None and o.reply is not None else None for o in before]
    fit = windows.MemberFit(members, windows.sent_tokens(replace(req, prompt="")))
    if previous is not None and ctx.votes:
        text = prompts.peer_prompts(req.prompt, own, ctx.rng, fit)
        fit.note(ctx, previous.number + 1, "peer")
    elif previous is None or previous.verdict is None:
        text = [req.prompt] * len(members)
    else:
        verdict = previous.verdict
        text = [
            fit(index, partial(prompts.build_refinement_prompt, prompt=req.prompt, previous_answer=answer,
                               verdict=verdict), [answer, verdict.synthesis, verdict.dissent])
            for index, answer in enumerate(own)
        ]
        fit.note(ctx, previous.number + 1, "refinement")
    # A member the previous round never asked (a tier it did not reach, a wave it held
    # back) has no earlier attempt: it gets the request itself, not "your last attempt failed".
    text = [req.prompt if previous is not None and o is None else t for o, t in zip(before, text, strict=True)]
    reads_agreement = ctx.votes or ctx.settings.skip_arbiter_on_agreement  # the vote, the arbiter skip
    if ctx.settings.final_answer_line and ctx.format.schema is None and reads_agreement:
        text = [answer_parts.with_final_answer_line(t) for t in text]
    calls = [Call(t, req.system, list(req.history), list(req.attachments)) for t in text]
    return [ctx.format.member_call(m, c) for m, c in zip(members, calls, strict=True)]


def drop_echoed_fences(ctx: RunContext, round_number: int, member: Participant, outcome: Outcome) -> None:
    """Take the fence markers a member echoed from its prompt out of its reply, before
    it is grouped, judged or shown; a reply that held nothing else is a failed answer.
    The trace's notes say so."""
    if outcome.reply is None:
        return
    text, echoed = strip_markers(outcome.reply.text)
    if not echoed:
        return
    if text.strip():
        outcome.reply = replace(outcome.reply, text=text)
        ctx.note(round_number, f"{member.name} echoed {plural(echoed, 'fence marker')} of its prompt: removed")
    else:
        outcome.reply, outcome.error = None, "the reply held only fence markers echoed from its prompt"
        ctx.note(round_number, f"{member.name}'s reply held only fence markers echoed from its prompt: a failed answer")


async def fan_out(ctx: RunContext, rnd: RoundState, members: list[Participant], calls: list[Call]) -> None:
    """Call `members` concurrently; their outcomes and trace records join the round.
    Raises BudgetStop before any call when they could pass the run's budget."""
    ctx.afford(list(zip(members, calls, strict=True)), "the members' calls")
    done = failed = 0

    async def one(member: Participant, call: Call) -> Outcome:
        nonlocal done, failed
        outcome = await _called(ctx, member, call)
        ctx.tool_calls += len(outcome.reply.tool_calls) if outcome.reply is not None else 0
        windows.learn(ctx, rnd.number, member, windows.sent_tokens(call), outcome.error)  # an overflow teaches
        drop_echoed_fences(ctx, rnd.number, member, outcome)
        try:
            ctx.format.check(outcome)
        except Exception as ex:
            outcome.reply, outcome.error = None, f"answer could not be checked: {type(ex).__name__}: {describe(ex)}"
        done += 1
        failed += 0 if outcome.ok else 1
        ctx.emit("member_done", rnd.number, members_done=done, members_failed=failed)
        return outcome

    async with asyncio.TaskGroup() as group:
        # The round number keys the sharing of members' identical tool calls.
        tasks = [
            group.create_task(one(member, replace(call, round=rnd.number)))
            for member, call in zip(members, calls, strict=True)
        ]
    records: list[CallRecord] = rnd.record.setdefault("members", [])
    for member, task in zip(members, tasks, strict=True):
        outcome = task.result()  # every task returned one: a cancel from outside ended the group above
        rnd.members.append(member)
        rnd.outcomes.append(outcome)
        records.append(ctx.format.traced(outcome, call_record(member, outcome)))  # type: ignore[arg-type]


async def _called(ctx: RunContext, member: Participant, call: Call) -> Outcome:
    """The outcome of one member's call under the failure policy, whatever ends it but
    a cancel of the run itself. The policy ends expected failures; anything else (a
    bug in a plugin, a CancelledError from a future cancelled deep inside it while
    nobody cancelled this run) is that member's failure, with its reason."""
    try:
        return await ctx.call(member, call)  # it books the call's usage
    except asyncio.CancelledError as ex:
        task = asyncio.current_task()
        if task is None or task.cancelling():  # the run is being cancelled: so is this call
            raise
        outcome = Outcome(error=_cancelled_reason(ex))
    except Exception as ex:
        outcome = Outcome(error=f"unexpected error: {type(ex).__name__}: {describe(ex)}")
    ctx.usage.add(member.model_id, outcome)  # a call that failed is a call (`ctx.call` booked no other)
    return outcome


def _cancelled_reason(ex: asyncio.CancelledError) -> str:
    detail = str(ex)
    return f"its call was cancelled from within: {detail}" if detail else "its call was cancelled from within"

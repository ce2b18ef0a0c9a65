"""The deliberation: rounds until the stop rule says enough, then the best answer.

The engine knows nothing of click, files or `llm`: it is given the request and
participants whose `call` is any coroutine function, which keeps it testable with
scripted members and reusable from both the sync and the async model. The final
answer goes to an optional `answer` function: streamed while the arbiter writes it
when the round is known to be final, else whole once the run is decided.
"""

from __future__ import annotations

import random
import time

from ..errors import AttachmentError, ConsortiumFailed
from ..judging.arbiter_reply.streaming import AnswerFn
from ..judging.arbiter_reply.verdict import Verdict
from ..trace import RoundRecord
from ..types import Call, Outcome, Participant, ProgressFn, Result, Settings
from . import attachments, savings, status, steps
from .context import Candidate, RunContext
from .decide import fall_back
from .fanout import RoundState


def describe_failures(members: list[Participant], outcomes: list[Outcome]) -> str:
    """One line naming each member and why it failed (or that it answered, when too
    few others did)."""
    parts = []
    for member, outcome in zip(members, outcomes, strict=False):
        parts.append(f"{member.name}: {'answered' if outcome.ok else outcome.error or 'no answer'}")
    return "; ".join(parts)


async def _fit_attachments(ctx: RunContext) -> None:
    if not ctx.request.attachments:
        return
    try:
        types = await attachments.resolve_types(ctx.request.attachments)
        ctx.members, ctx.arbiter_attachments, notes = attachments.fit(
            ctx.request.attachments, types, ctx.members, ctx.arbiter
        )
    except AttachmentError as ex:
        raise ConsortiumFailed(str(ex)) from None
    ctx.notes.extend(notes)


async def _deliberate(ctx: RunContext, rounds: list[RoundRecord]) -> Result:
    """Play the rounds, each one's record added to `rounds` as it ends."""
    await _fit_attachments(ctx)
    previous: RoundState | None = None
    for number in range(1, ctx.settings.max_iterations + 1):
        started = time.monotonic()
        rnd = await steps.play(ctx, number, previous)
        if ctx.stopped and not rnd.members:  # stopped before this round's first call
            if not ctx.candidates:
                raise ConsortiumFailed(f"No answer: {ctx.stopped}; no call was made")
            break
        rounds.append(rnd.record)
        if "failed" in rnd.record:
            reason = rnd.record["failed"]
            if not ctx.candidates:
                if ctx.stopped:
                    raise ConsortiumFailed(f"No answer: {ctx.stopped}; {reason}")
                raise ConsortiumFailed(f"No usable answer: {reason} - {describe_failures(rnd.members, rnd.outcomes)}")
            ctx.note(number, f"{reason}; kept the round {max(ctx.candidates).round} answer")
            break
        rnd.record["duration_ms"] = round((time.monotonic() - started) * 1000)
        verdict = rnd.verdict
        if verdict is None:
            await fall_back(ctx, rnd)
            break
        rnd.record["confidence"] = verdict.confidence
        before = ctx.candidates[-1].text if ctx.candidates else None
        rnd.record["answer_changed"] = before is not None and before != verdict.synthesis
        ctx.candidates.append(Candidate.of(number, verdict.synthesis, verdict.confidence))
        stop = ctx.settings.stops(verdict.confidence, verdict.needs_iteration, number) or _unknowable(
            ctx, verdict, number
        )
        ctx.emit("round_done", number, confidence=verdict.confidence, another_round=not stop)
        if stop or ctx.stopped:
            break
        previous = rnd
    return _result(ctx, rounds)


def _unknowable(ctx: RunContext, verdict: Verdict, number: int) -> bool:
    """A verdict of unknown confidence (a reply without tags, or a confidence that is
    none: `grammar.read_confidence`) ends the run once `min_iterations` rounds ran:
    more rounds cannot make it known (the same arbiter is asked the same way), so
    they would only cost (docs/confidence.md)."""
    return verdict.confidence is None and number >= ctx.settings.min_iterations


def _result(ctx: RunContext, rounds: list[RoundRecord]) -> Result:
    """The most confident round's answer (the latest on ties)."""
    best = max(ctx.candidates)
    facts = status.decide(
        rounds, stopped=ctx.stopped, confidence=best.confidence
    )
    return Result(
        text=best.text,
        confidence=best.confidence,
        final_round=best.round,
        rounds=rounds,
        usage=savings.usage(ctx),
        notes=ctx.notes,
        confidence_threshold=ctx.settings.confidence_threshold,
        stopped=ctx.stopped,
        status=facts.status,
        degraded=facts.degraded,
        failed_members=facts.failed_members,
        warning=facts.warning,
    )


async def run(
    request: Call,
    members: list[Participant],
    arbiter: Participant | None,
    settings: Settings,
    *,
    progress: ProgressFn | None = None,
    rng: random.Random | None = None,
    answer: AnswerFn | None = None,
) -> Result:
    """Deliberate on `request`; raises ConsortiumFailed when no answer is usable.
    `answer` gets exactly `Result.text`, in order, before this returns (see streaming)."""
    if not members:
        raise ConsortiumFailed("The consortium has no members")
    ctx = RunContext(request, members, arbiter, settings, progress, rng or random.Random(), answer)
    rounds: list[RoundRecord] = []
    try:
        result = await _deliberate(ctx, rounds)
    except ConsortiumFailed as ex:
        # A failed run still spent: its calls, tokens and cost, and the members that failed.
        ex.usage = dict(savings.usage(ctx))
        ex.rounds = len(rounds)
        ex.failed_members = [dict(failure) for failure in status.failed_members(rounds)]
        raise
    if ctx.answer is not None and not ctx.printed:
        await ctx.answer(result.text)
    return result

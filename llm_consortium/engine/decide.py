"""The deciding step: the arbiter judges the round's answers, or the members vote; and
what happens when the arbiter fails (an earlier round's answer, else the vote)."""

from __future__ import annotations

from typing import Any, cast

from ..calls import context_window
from ..errors import ConsortiumFailed
from ..judging import matching, prompts
from ..judging.arbiter_reply.verdict import Verdict
from ..text import words
from ..trace import ArbiterRecord, VoteRecord
from ..types import Call
from . import stepwise, windows
from .call_records import call_record
from .context import Candidate, RunContext, logger
from .fanout import RoundState
from .peer_review import arbiter_block


async def decide(ctx: RunContext, rnd: RoundState) -> None:
    """Set the round's verdict: without an arbiter, the peer review's top answer when
    there was a review, else the members' vote; with one, the arbiter's judgement
    (None when it gave no usable answer)."""
    if ctx.votes and rnd.review is not None:
        top = rnd.review.table[0]
        rnd.record["review"]["winner"] = rnd.members[top.member].name
        rnd.verdict = Verdict(rnd.answers()[top.member] or "", rnd.review.confidence)
    elif ctx.votes:
        winner, rnd.record["vote"], notes = await count(ctx, rnd)
        for note in notes:
            ctx.note(rnd.number, note)
        rnd.verdict = Verdict(winner.answer, rnd.agreement_confidence(winner.share))
    else:
        rnd.verdict, rnd.record["arbiter"] = await judge(ctx, rnd, labelled(ctx, rnd))


async def count(
    ctx: RunContext, rnd: RoundState, answers: list[str | None] | None = None, names: list[str] | None = None
) -> tuple[Any, VoteRecord, list[str]]:
    """The members' vote on the round's answers (or on `answers` by `names`, a wave
    of them), grouped by the run's matcher (`Settings.matcher`) as replies to the
    request's prompt. Each set of answers is grouped once per round: every later
    step reuses that grouping, and a model-backed matcher's calls count once."""
    answers = rnd.answers() if answers is None else answers
    names = [m.name for m in rnd.members] if names is None else names
    key = (tuple(answers), tuple(names))
    if key not in rnd.votes:
        matcher = matching.Asking(ctx.matcher, ctx.request.prompt)  # its calls are the run's (`RunMatcher`)
        winner, record, notes, _ = await ctx.format.tally(answers, names, matcher)
        rnd.votes[key] = (winner, cast(VoteRecord, record), notes)
    winner, record, notes = rnd.votes[key]
    return winner, cast(VoteRecord, dict(record)), list(notes)


def labelled(ctx: RunContext, rnd: RoundState) -> list[prompts.LabelledAnswer]:
    """The round's answers under shuffled neutral labels; each member's label and the
    label -> model map go into the round's record."""
    order = list(range(len(rnd.members)))
    ctx.rng.shuffle(order)
    answers = []
    members = rnd.record["members"]
    rnd.record["labels"] = {}
    for label, index in zip(prompts.labels(len(order)), order, strict=True):
        outcome = rnd.outcomes[index]
        members[index]["label"] = label
        rnd.record["labels"][label] = members[index]["model"]
        text = outcome.reply.text if outcome.reply is not None else None
        tools = outcome.reply.tool_calls if outcome.reply is not None else []
        answers.append(prompts.LabelledAnswer(label, text, outcome.error, list(tools)))
    return answers


def is_final(ctx: RunContext, head: Verdict, round_number: int) -> bool:
    """Whether a round with this verdict gives the final answer: it stops the run and
    no earlier round was more confident (the latest wins ties)."""
    score = Candidate.of(round_number, "", head.confidence).score
    if ctx.tiers_left and (head.confidence is None or head.confidence < ctx.settings.confidence_threshold):
        return False  # the next tier will be asked: this verdict is not the answer
    stops = ctx.settings.stops(head.confidence, head.needs_iteration, round_number)
    return stops and all(score >= c.score for c in ctx.candidates)


async def judge(
    ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer]
) -> tuple[Verdict | None, ArbiterRecord]:
    """Ask the arbiter: (its Verdict or None when it failed, its trace record).

    The prompt fits the arbiter's context window when it is known (`stepwise`). A
    call that overflows teaches the window (`windows.learn`) and is asked again once,
    in the form that fits, within the round: the record's `overflow` keeps the first
    call's error, and both calls count in the usage and the budget.

    The record has one shape whatever happened: the model, duration and usage, then
    either `error` (with `raw` when it replied without an answer) or the verdict's fields."""
    assert ctx.arbiter is not None
    ctx.emit("arbiter_start", rnd.number)
    review = _review_for_arbiter(rnd)
    verdict, record, sent = await _judged(ctx, rnd, answers, review)
    if verdict is None and "raw" not in record:  # the call failed (it did not reply without an answer)
        first = {key: value for key, value in record.items() if key in ("error", "duration_ms", "usage")}
        size = windows.sent_tokens(Call(sent, ctx.request.system))
        learned = windows.learn(ctx, rnd.number, ctx.arbiter, size, record.get("error"))
        if learned is not None:
            ctx.note(rnd.number, "the arbiter's call overflowed: asked again once, in the form that fits its window")
            verdict, record, _ = await _judged(ctx, rnd, answers, review)
            record["overflow"] = {**first, "prompt_chars": len(sent), "window": learned.tokens}
    return verdict, record


async def _judged(
    ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], review: str | None
) -> tuple[Verdict | None, ArbiterRecord, str]:
    """One judgement in the form that fits: (verdict or None, record, the last prompt sent)."""
    assert ctx.arbiter is not None
    round_number = rnd.number
    how = stepwise.plan(ctx, rnd, answers, review)
    asked = await stepwise.ask(ctx, rnd, answers, review, how, lambda head: is_final(ctx, head, round_number))
    how, outcome, stream = asked.plan, asked.outcome, asked.stream
    if how.form != "stepwise":  # what the arbiter was not shown
        for cut in prompts.arbiter_cut_notes(ctx.request.history, answers, how.fitted.caps):
            ctx.note(round_number, cut)
    _say_fit(ctx, round_number, how)
    record: ArbiterRecord = call_record(ctx.arbiter, outcome)  # type: ignore[assignment]
    record.pop("instance", None)
    if how.room is not None:
        record["fit"] = how.record(ctx)
    if asked.steps:
        record["steps"] = asked.steps
    if outcome.reply is None:
        if stream.printed:  # part of the answer is out: nothing can replace it
            raise ConsortiumFailed(f"the arbiter stopped in the middle of the answer: {outcome.error}")
        return None, record, asked.sent
    raw = record.pop("text")
    verdict, problem, echoed = stepwise.read(ctx, raw, stream)
    if verdict is None:
        record["raw"], record["error"] = raw, problem
        return None, record, asked.sent
    record["raw"] = verdict.raw
    if echoed:
        echo = words.plural(echoed, "fence marker")
        ctx.note(round_number, f"the arbiter's synthesis echoed {echo} of its prompt: removed")
    if verdict.confidence is None:
        _untagged(ctx, round_number, verdict)
    record["confidence"] = verdict.confidence
    record["needs_iteration"] = verdict.needs_iteration
    record["synthesis"] = verdict.synthesis
    record["refinement_areas"] = verdict.refinement_areas
    record["dissent"] = verdict.dissent
    record["analysis"] = verdict.analysis
    record["tagged"] = verdict.tagged
    return verdict, record, asked.sent


def _say_fit(ctx: RunContext, round_number: int, how: stepwise.Plan) -> None:
    """A note when the arbiter's prompt was made to fit its window."""
    window = ctx.arbiter.window if ctx.arbiter is not None else None
    if window is None or window.tokens is None or how.room is None:
        return
    size = f"the arbiter's context window ({window.tokens:,} tokens, {_SOURCES.get(window.source, window.source)})"
    if how.form == "stepwise":
        ctx.note(round_number, f"{size}: judged in steps: {how.why}")
    elif not how.fitted.fits:
        ctx.note(round_number, f"{size} holds no judging prompt by its estimate, even cut as far as it goes "
                               f"(the {how.form} form was sent as it is)")
    elif how.fitted.compact or how.fitted.share is not None:
        cut = f"; each answer cut to at most {how.fitted.share:,} characters" if how.fitted.share else ""
        ctx.note(round_number, f"{size} holds the {how.form} judging prompt{cut}")


_SOURCES = {
    "file": "set in the consortium's file",
    "stated": "stated by its plugin",
    "remembered": "learned from an overflow in an earlier run",
    "learned": "learned from an overflow",
}


def _review_for_arbiter(rnd: RoundState) -> str | None:
    if rnd.review is None:
        return None
    label_of = {i: record["label"] for i, record in enumerate(rnd.record["members"]) if "label" in record}
    return arbiter_block(rnd.review, label_of)


def _untagged(ctx: RunContext, round_number: int, verdict: Verdict) -> None:
    """Say what a verdict of unknown confidence does (an untagged reply, whose whole
    text is the answer, or a confidence that is none): no further round is asked for
    it once min_iterations ran (`deliberation`, docs/confidence.md)."""
    more = round_number < ctx.settings.min_iterations
    rounds = "rounds continue only to min_iterations" if more else "no further round is run"
    if verdict.tagged:
        why = f"the arbiter's confidence {verdict.confidence_note or 'could not be read'}"
        ctx.note(round_number, f"{why}; confidence unknown; {rounds}")
    else:
        why = "the arbiter's reply had no <synthesis> tag"
        ctx.note(round_number, f"{why}; used as a whole, confidence unknown; {rounds}")
    if not ctx.warned_untagged:  # once per run: every round's is in the notes
        ctx.warned_untagged = True
        whole = "" if verdict.tagged else "; its whole reply is the answer"
        logger.warning(
            "Consortium: %s%s, with unknown confidence; %s (more could not make it known)", why, whole, rounds
        )


async def fall_back(ctx: RunContext, rnd: RoundState) -> None:
    """The arbiter failed: keep the best earlier synthesis when there is one, else the
    peer review's top-ranked answer when the round was reviewed, else the members'
    vote (the largest group of like answers), and say so once."""
    record = rnd.record
    error = str(record["arbiter"].get("error"))
    overflow = context_window.overflow_in(error)
    if overflow is not None:
        why = (
            f"{context_window.explain(overflow)}: use an arbiter with a larger context "
            "window, fewer members or shorter answers"
        )
    else:
        why = f"the arbiter failed ({error})"
    if ctx.candidates:
        best = max(ctx.candidates)
        record["fallback"] = {"kept": "round", "round": best.round}
        kept = f"kept the round {best.round} answer"
    elif rnd.review is not None:
        top = rnd.members[rnd.review.table[0].member].name
        confidence = rnd.review.confidence
        record["fallback"] = {"kept": "review", "members": [top], "answered": rnd.answered, "share": confidence}
        record["confidence"] = confidence
        ctx.candidates.append(Candidate.of(rnd.number, rnd.answers()[rnd.review.table[0].member] or "", confidence))
        kept = f"the answer is the peer review's top-ranked one ({top})"
    else:
        names = [m.name for m in rnd.members]
        winner, record["vote"], notes = await count(ctx, rnd)
        agreed = [names[i] for i in winner.members]
        present = rnd.answered
        confidence = rnd.agreement_confidence(winner.share)
        record["fallback"] = {"kept": "vote", "members": agreed, "answered": present, "share": winner.share}
        record["confidence"] = confidence
        ctx.candidates.append(Candidate.of(rnd.number, winner.answer, confidence))
        how = "; ".join(notes) or f"{len(agreed)} of {present} agreed: {', '.join(agreed)}"
        kept = f"the answer is the members' vote ({how})"
    logger.warning("Consortium: round %s: %s; %s", rnd.number, why, kept)
    ctx.note(rnd.number, f"{why}; {kept}")

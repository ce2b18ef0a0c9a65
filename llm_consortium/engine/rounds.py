"""The deliberation itself: rounds of concurrent member calls, the arbiter's verdict,
the stop rule, and a trace of everything that happened.

The engine knows nothing of click, files or `llm`: it is given the request and
participants whose `call` is any coroutine function, which keeps it testable with
scripted members and reusable from both the sync and the async model. The final
answer goes to an optional `answer` function: streamed while the arbiter writes it
when the round is known to be final, else whole once the run is decided.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable
from typing import Any, NamedTuple

from ..calls import context_window
from ..calls.policy import call_with_policy
from ..errors import AttachmentError, ConsortiumFailed
from ..judging import prompts
from ..judging.arbiter_stream import AnswerFn, ArbiterStream
from ..judging.verdict import Verdict
from ..structured.formats import format_for
from ..types import Call, Event, Outcome, Participant, ProgressFn, Result, Settings
from . import attachments

logger = logging.getLogger(__name__)


def _outcome_json(participant: Participant, outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = {"model": participant.model_id, "instance": participant.instance}
    if outcome.ok:
        data["text"] = outcome.reply.text
    else:
        data["error"] = outcome.error
    data["duration_ms"] = outcome.duration_ms
    data["usage"] = outcome.usage()
    data["requests"] = outcome.requests
    if len(outcome.attempts) > 1 or outcome.requests > 1:
        data["attempts"] = outcome.attempts
    for key in ("rate_limit_waits", "rate_limit_wait_ms", "queued_ms", "abandoned"):
        if getattr(outcome, key):
            data[key] = getattr(outcome, key)
    if outcome.concurrency_limit is not None:
        data["concurrency_limit"] = outcome.concurrency_limit
    return data


class _Usage:
    """Token sums over every call of a run, in total and per model."""

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.per_model: dict[str, dict[str, int]] = {}

    def add(self, model_id: str, outcome: Outcome) -> None:
        row = self.per_model.setdefault(model_id, {"calls": 0, "requests": 0, "input": 0, "output": 0})
        row["calls"] += len(outcome.attempts)
        row["requests"] += outcome.requests
        usage = outcome.usage()
        row["input"] += usage["input"] or 0
        row["output"] += usage["output"] or 0
        self.input += usage["input"] or 0
        self.output += usage["output"] or 0

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output, "per_model": self.per_model}


def _answers(outcomes: list[Outcome]) -> list[str | None]:
    return [outcome.reply.text if outcome.ok else None for outcome in outcomes]


def describe_failures(members: list[Participant], outcomes: list[Outcome]) -> str:
    """One line naming each member and why it failed (or that it answered, when too
    few others did)."""
    parts = []
    for member, outcome in zip(members, outcomes, strict=False):
        parts.append(f"{member.name}: {'answered' if outcome.ok else outcome.error or 'no answer'}")
    return "; ".join(parts)


class _Candidate(NamedTuple):
    """A judged round's answer; the greatest (by score, then round) is the final one."""

    score: float  # the confidence, or -1 when unknown
    round: int
    text: str
    confidence: float | None

    @classmethod
    def of(cls, round_number: int, text: str, confidence: float | None) -> _Candidate:
        return cls(-1.0 if confidence is None else confidence, round_number, text, confidence)


class _Run:
    """State of one deliberation; `run()` below is the public entry point."""

    def __init__(
        self,
        request: Call,
        members: list[Participant],
        arbiter: Participant | None,
        settings: Settings,
        progress: ProgressFn | None,
        rng: random.Random,
        answer: AnswerFn | None = None,
    ) -> None:
        self.request = request
        self.members = members
        self.arbiter = arbiter
        self.settings = settings
        self.progress = progress
        self.rng = rng
        self.usage = _Usage()
        self.rounds: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.candidates: list[_Candidate] = []
        self.arbiter_attachments = list(request.attachments)
        self.format = format_for(request.schema)
        self.answer = answer
        self.printed = False  # the final answer went out while the arbiter wrote it
        self.rate_limited = 0  # calls waiting for a rate limit now
        self._last: tuple[str, int, dict[str, Any]] | None = None
        self.warned_untagged = False

    def _emit(self, kind: str, round_number: int, **extra: Any) -> None:
        self._last = (kind, round_number, extra)
        if self.progress is not None:
            event = Event(
                kind, round_number, self.settings.max_iterations, len(self.members), **extra,
                rate_limited=self.rate_limited,
            )
            try:
                self.progress(event)
            except Exception:  # a broken progress display must not break the run
                logger.debug("progress callback failed", exc_info=True)

    def _waiting(self, waiting: bool) -> None:
        """A call started or ended a rate-limit wait: redraw the last status with it."""
        self.rate_limited += 1 if waiting else -1
        if self._last is not None:
            kind, round_number, extra = self._last
            self._emit(kind, round_number, **extra)

    def _call(self, participant: Participant, call: Call) -> Awaitable[Outcome]:
        return call_with_policy(
            participant, call, timeout=self.settings.timeout, retries=self.settings.retries,
            on_wait=self._waiting,
        )

    async def _fan_out(self, calls: list[Call], round_number: int) -> list[Outcome]:
        done = failed = 0

        async def one(member: Participant, call: Call) -> Outcome:
            nonlocal done, failed
            outcome = await self._call(member, call)
            self.usage.add(member.model_id, outcome)
            self.format.check(outcome)
            done += 1
            failed += 0 if outcome.ok else 1
            self._emit("member_done", round_number, members_done=done, members_failed=failed)
            return outcome

        return list(await asyncio.gather(*(one(m, c) for m, c in zip(self.members, calls, strict=False))))

    def _member_calls(
        self, round_number: int, previous: list[Outcome], verdict: Verdict | None
    ) -> list[Call]:
        req = self.request
        if round_number > 1 and self.settings.votes(self.arbiter):
            text = prompts.peer_prompts(req.prompt, _answers(previous), self.rng)
        elif round_number == 1 or verdict is None:
            text = [req.prompt] * len(self.members)
        else:
            text = [
                prompts.build_refinement_prompt(
                    prompt=req.prompt,
                    previous_answer=outcome.reply.text if outcome.ok else None,
                    verdict=verdict,
                )
                for outcome in previous
            ]
        calls = [Call(t, req.system, list(req.history), list(req.attachments)) for t in text]
        return [self.format.member_call(m, c) for m, c in zip(self.members, calls, strict=False)]

    def _labelled(self, outcomes: list[Outcome], record: dict[str, Any]) -> list[prompts.LabelledAnswer]:
        """This round's answers under shuffled neutral labels; each member's label and
        the label -> model map go into the round's record."""
        order = list(range(len(self.members)))
        self.rng.shuffle(order)
        answers = []
        record["labels"] = {}
        for label, index in zip(prompts.labels(len(order)), order, strict=False):
            outcome = outcomes[index]
            record["members"][index]["label"] = label
            record["labels"][label] = record["members"][index]["model"]
            text = outcome.reply.text if outcome.reply is not None else None
            answers.append(prompts.LabelledAnswer(label, text, outcome.error))
        return answers

    async def _judge(
        self, answers: list[prompts.LabelledAnswer], round_number: int
    ) -> tuple[Verdict | None, dict[str, Any]]:
        """Ask the arbiter: (its Verdict or None when it failed, its trace record).

        The record has one shape whatever happened: the model, duration and usage,
        then either `error` (with `raw` when it replied without an answer) or the
        parsed verdict's fields."""
        assert self.arbiter is not None
        self._emit("arbiter_start", round_number)
        text = prompts.build_arbiter_prompt(
            prompt=self.request.prompt,
            history=self.request.history,
            answers=answers,
            round_number=round_number,
            max_rounds=self.settings.max_iterations,
            **self.format.arbiter_prompt_options(self.arbiter),
        )
        stream = ArbiterStream(lambda head: self._is_final(head, round_number), self.format.shown(self.answer))
        arbiter = dataclasses.replace(self.arbiter, call=stream.wrap(self.arbiter.call))
        call = Call(text, self.request.system, [], list(self.arbiter_attachments))
        outcome = await self._call(arbiter, self.format.arbiter_call(self.arbiter, call))
        self.printed = stream.printed
        self.usage.add(self.arbiter.model_id, outcome)
        record = _outcome_json(self.arbiter, outcome)
        record.pop("instance", None)
        if outcome.reply is None:
            if stream.printed:  # part of the answer is out: nothing can replace it
                raise ConsortiumFailed(f"the arbiter stopped in the middle of the answer: {outcome.error}")
            return None, record
        raw = record.pop("text")
        verdict, problem = self.format.read_verdict(raw, stream.verdict)
        if verdict is None:
            record.update(raw=raw, error=f"answer rejected: {problem}")
            return None, record
        record["raw"] = verdict.raw
        if not verdict.synthesis.strip():
            record["error"] = "the arbiter's reply held no answer"
            return None, record
        if not verdict.tagged:
            self.notes.append(
                f"round {round_number}: the arbiter's reply had no <synthesis> tag; "
                "used as a whole, confidence unknown"
            )
            if not self.warned_untagged:  # once per run: every round's is in the notes
                self.warned_untagged = True
                logger.warning(
                    "Consortium: the arbiter's reply had no <synthesis> tag; its whole reply "
                    "is used as the answer, with unknown confidence"
                )
        record.update(
            confidence=verdict.confidence,
            needs_iteration=verdict.needs_iteration,
            synthesis=verdict.synthesis,
            refinement_areas=verdict.refinement_areas,
            dissent=verdict.dissent,
            analysis=verdict.analysis,
            tagged=verdict.tagged,
        )
        return verdict, record

    async def run(self) -> Result:
        settings = self.settings
        outcomes: list[Outcome] = []
        verdict = None
        if self.request.attachments:
            try:
                types = await attachments.resolve_types(self.request.attachments)
                self.members, self.arbiter_attachments, notes = attachments.fit(
                    self.request.attachments, types, self.members, self.arbiter
                )
            except AttachmentError as ex:
                raise ConsortiumFailed(str(ex)) from None
            self.notes.extend(notes)
        for round_number in range(1, settings.max_iterations + 1):
            self._emit("round_start", round_number)
            started = time.monotonic()
            outcomes = await self._fan_out(
                self._member_calls(round_number, outcomes, verdict), round_number
            )
            pairs = zip(self.members, outcomes, strict=False)
            record: dict[str, Any] = {
                "round": round_number,
                "members": [self.format.traced(o, _outcome_json(m, o)) for m, o in pairs],
            }
            self.rounds.append(record)
            succeeded = sum(1 for o in outcomes if o.ok)
            if succeeded < settings.min_members:
                reason = (
                    f"only {succeeded} of {len(self.members)} members answered "
                    f"(at least {settings.min_members} needed)"
                )
                record["failed"] = reason
                if not self.candidates:
                    raise ConsortiumFailed(
                        f"No usable answer: {reason} - {describe_failures(self.members, outcomes)}"
                    )
                self.notes.append(f"round {round_number}: {reason}; kept the round {max(self.candidates).round} answer")
                break
            if settings.votes(self.arbiter):
                winner, record["vote"], notes = self.format.tally(_answers(outcomes), [m.name for m in self.members])
                self.notes.extend(f"round {round_number}: {note}" for note in notes)
                verdict = Verdict(winner.answer, winner.share)
            else:
                answers = self._labelled(outcomes, record)
                verdict, record["arbiter"] = await self._judge(answers, round_number)
            record["duration_ms"] = round((time.monotonic() - started) * 1000)
            if verdict is None:
                self._fall_back(outcomes, record)
                break
            record["confidence"] = verdict.confidence
            previous = self.candidates[-1].text if self.candidates else None
            record["answer_changed"] = previous is not None and previous != verdict.synthesis
            self.candidates.append(_Candidate.of(round_number, verdict.synthesis, verdict.confidence))
            stop = settings.stops(verdict.confidence, verdict.needs_iteration, round_number)
            self._emit("round_done", round_number, confidence=verdict.confidence, another_round=not stop)
            if stop:
                break
        result = self._result()
        if self.answer is not None and not self.printed:
            await self.answer(result.text)
        return result

    def _is_final(self, head: Verdict, round_number: int) -> bool:
        """Whether a round with this verdict gives the final answer: it stops the run
        and no earlier round was more confident (the latest wins ties)."""
        score = _Candidate.of(round_number, "", head.confidence).score
        stops = self.settings.stops(head.confidence, head.needs_iteration, round_number)
        return stops and all(score >= c.score for c in self.candidates)

    def _fall_back(self, outcomes: list[Outcome], record: dict[str, Any]) -> None:
        """The arbiter failed: keep the best earlier synthesis when there is one, else
        take the members' vote (the largest group of like answers), and say so once."""
        round_number = record["round"]
        error = str(record["arbiter"].get("error"))
        overflow = context_window.overflow_in(error)
        if overflow is not None:
            why = (
                f"{context_window.explain(overflow)}: use an arbiter with a larger context "
                "window, fewer members or shorter answers"
            )
        else:
            why = f"the arbiter failed ({error})"
        if self.candidates:
            best = max(self.candidates)
            record["fallback"] = {"kept": "round", "round": best.round}
            kept = f"kept the round {best.round} answer"
        else:
            names = [m.name for m in self.members]
            winner, record["vote"], notes = self.format.tally(_answers(outcomes), names)
            agreed = [names[i] for i in winner.members]
            present = sum(1 for o in outcomes if o.ok)
            record["fallback"] = {"kept": "vote", "members": agreed, "answered": present, "share": winner.share}
            record["confidence"] = winner.share
            self.candidates.append(_Candidate.of(round_number, winner.answer, winner.share))
            how = "; ".join(notes) or f"{len(agreed)} of {present} agreed: {', '.join(agreed)}"
            kept = f"the answer is the members' vote ({how})"
        logger.warning("Consortium: round %s: %s; %s", round_number, why, kept)
        self.notes.append(f"round {round_number}: {why}; {kept}")

    def _result(self) -> Result:
        """The most confident round's answer (the latest on ties)."""
        best = max(self.candidates)
        return Result(
            text=best.text,
            confidence=best.confidence,
            final_round=best.round,
            rounds=self.rounds,
            usage=self.usage.as_dict(),
            notes=self.notes,
            confidence_threshold=self.settings.confidence_threshold,
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
    state = _Run(request, members, arbiter, settings, progress, rng or random.Random(), answer)
    try:
        return await state.run()
    except ConsortiumFailed as ex:
        ex.usage = state.usage.as_dict()  # a failed run still spent calls
        raise

"""What every step of a run shares: the request, the participants, the settings, the
answer format, and the run's running totals (usage, notes, judged answers).

Steps (`fanout`, `decide`, `steps`) take a `RunContext` and add to it; none of them
keeps state of its own, so a new step joins a round without touching the others.

Every model call a run makes goes through one path here: `afford` before it (the
budget), `call` (the failure policy, then the run's one ledger: usage, the budget's
estimate of usage a model did not report). Members, reviewers and the arbiter are
afforded by their step, all at once; a matcher's call is afforded alone (`ask`) and
traced with its round.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..calls import costs
from ..calls.policy import call_with_policy
from ..errors import BudgetStop, ConsortiumFailed
from ..judging.arbiter_reply.streaming import AnswerFn
from ..judging.matching import AUTO, Grouping, Matcher
from ..structured.formats import TextFormat, format_for
from ..trace import RoundRecord
from ..types import Call, Event, Outcome, Participant, ProgressFn, Settings
from .call_records import UsageSum, call_record

logger = logging.getLogger("llm_consortium.engine")


class Candidate(NamedTuple):
    """A judged round's answer; the greatest (by score, then round) is the final one."""

    score: float  # the confidence, or -1 when unknown
    round: int
    text: str
    confidence: float | None

    @classmethod
    def of(cls, round_number: int, text: str, confidence: float | None) -> Candidate:
        return cls(-1.0 if confidence is None else confidence, round_number, text, confidence)


class RunContext:
    """One deliberation's shared state; see the module docstring."""

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
        self.answer = answer
        self.usage = UsageSum()
        self.notes: list[str] = []
        self.candidates: list[Candidate] = []
        self.arbiter_attachments = list(request.attachments)
        self.format: TextFormat = format_for(request.schema)
        self.printed = False  # the final answer went out while the arbiter wrote it
        self.rate_limited = 0  # calls waiting for a rate limit now
        self.tool_calls = 0  # tool calls members made so far
        self.warned_untagged = False
        # Savings (see `savings`): calls saved by kind, why the run stopped early,
        # and how many tiers remain after the one being asked.
        self.saved = {"agreement": 0, "tiers": 0, "waves": 0}
        self.stopped: str | None = None
        self.tiers_left = 0
        self.sent = costs.Sent()  # what prompts cost in tokens, for the budget check
        # Tokens of the calls that reported no usage, by model, as the budget counts
        # them (the usage itself stays unknown): see `_book`.
        self.estimated: dict[str, tuple[float, float]] = {}
        # The round being played (its number and record): where a note of the ledger
        # and a call made alone (a matcher's, `ask`) are written.
        self.round = 0
        self.record: RoundRecord | None = None
        self.matcher = RunMatcher(self)
        self._last: tuple[str, int, dict[str, Any]] | None = None
        self._refuse_unpriced()

    @property
    def votes(self) -> bool:
        """Whether answers are counted rather than judged."""
        return self.settings.votes(self.arbiter)

    def emit(self, kind: str, round_number: int, **extra: Any) -> None:
        """Tell the progress display; a broken display never breaks the run."""
        self._last = (kind, round_number, extra)
        if self.progress is None:
            return
        event = Event(
            kind, round_number, self.settings.max_iterations, len(self.members), **extra,
            rate_limited=self.rate_limited, tool_calls=self.tool_calls,
        )
        try:
            self.progress(event)
        except Exception:
            logger.debug("progress callback failed", exc_info=True)

    def _waiting(self, waiting: bool) -> None:
        """A call started or ended a rate-limit wait: redraw the last status with it."""
        self.rate_limited += 1 if waiting else -1
        if self._last is not None:
            kind, round_number, extra = self._last
            self.emit(kind, round_number, **extra)

    @property
    def budgeted(self) -> bool:
        return self.settings.budget_tokens is not None or self.settings.budget_usd is not None

    def _refuse_unpriced(self) -> None:
        """A money budget needs a price for every model the run may call (members,
        arbiter, the matcher's model): refused before any call, naming the others."""
        if self.settings.budget_usd is None:
            return
        models = [p.model_id for p in [*self.members, *([self.arbiter] if self.arbiter else [])]]
        models += list(getattr(self.settings.matcher, "model_ids", ()))
        missing = costs.unpriced(models, self.settings.prices)
        if missing:
            raise ConsortiumFailed(
                f"a money budget (budget_usd {self.settings.budget_usd:g}) needs a price for every model "
                f"the run may call; none is set for {', '.join(missing)}"
            )

    async def call(self, participant: Participant, call: Call) -> Outcome:
        """One participant call under the run's failure policy, booked in the run's
        ledger however it ended (`afford` it first)."""
        outcome = await call_with_policy(
            participant, call, timeout=self.settings.timeout, retries=self.settings.retries,
            on_wait=self._waiting,
        )
        self._book(participant.model_id, call, outcome)
        return outcome

    async def ask(self, participant: Participant, call: Call, step: str) -> Outcome:
        """One call made alone by a step that can do without it (a matcher's): afforded
        first, and when the budget cannot afford it not made (an Outcome whose error
        says why, booked nowhere); made, it is traced with the round."""
        try:
            self.afford([(participant, call)], step)
        except BudgetStop as stop:
            return Outcome(error=f"not made: {stop}")
        outcome = await self.call(participant, call)
        if self.record is not None:
            self.record.setdefault("matching", []).append(call_record(participant, outcome))
        return outcome

    def _book(self, model_id: str, call: Call, outcome: Outcome) -> None:
        """Usage into the ledger. Under a budget, what a model did not report is
        counted at its estimate (`costs.Sent.unreported`), never as nothing: the
        reported usage stays unknown, the estimate is the budget's and its notes'."""
        self.usage.add(model_id, outcome)
        reply = outcome.reply
        chars = _chars(call)
        if reply is not None:
            self.sent.add(model_id, chars, reply.input_tokens, reply.output_tokens)
        if not self.budgeted:
            return
        if reply is not None:
            if reply.input_tokens is not None and reply.output_tokens is not None:
                return
            tokens_in, tokens_out = self.sent.unreported(model_id, chars, len(reply.text))
            tokens_in = tokens_in if reply.input_tokens is None else 0.0
            tokens_out = tokens_out if reply.output_tokens is None else 0.0
        elif any(attempt.get("cut_short") for attempt in outcome.attempts):
            tokens_in, tokens_out = self.sent.unreported(model_id, chars, None)  # it may have been billed
        else:
            return  # refused or never sent: nothing to bill
        first = model_id not in self.estimated
        was_in, was_out = self.estimated.get(model_id, (0.0, 0.0))
        self.estimated[model_id] = (was_in + tokens_in, was_out + tokens_out)
        if first:
            self.note(self.round, (
                f"{model_id} reported no token usage for a call; the budget counts such calls at an "
                "estimate (the prompt's size, the reply's or the longest reply so far), its usage stays unknown"
            ))

    def afford(self, calls: list[tuple[Participant, Call]], step: str = "the next step") -> None:
        """Raise BudgetStop, naming why, when these calls (made together) could pass
        the run's token or money budget; checked before every call of a run."""
        settings = self.settings
        if settings.budget_tokens is None and settings.budget_usd is None:
            return
        planned = [(p.model_id, *self.sent.expected(p.model_id, _chars(c))) for p, c in calls]
        reason = costs.over_budget(
            planned, self.usage.per_model, settings.prices, settings.budget_tokens, settings.budget_usd, step,
            self.estimated,
        )
        if reason is not None:
            raise BudgetStop(reason)

    def note(self, round_number: int, text: str) -> None:
        self.notes.append(f"round {round_number}: {text}")


class RunMatcher:
    """The run's matcher (`Settings.matcher`, `auto` when None) with every model call
    it makes on the run's one call path (`RunContext.ask`: afforded, under the
    failure policy, booked, traced); each set of answers is grouped once per run,
    so no step pays twice for one grouping."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.matcher: Matcher = ctx.settings.matcher or AUTO
        self._done: dict[tuple[tuple[str, ...], str], Grouping] = {}

    @property
    def mode(self) -> str:
        return self.matcher.mode

    async def group(self, answers: Sequence[str], prompt: str = "") -> Grouping:
        key = (tuple(answers), prompt)
        if key not in self._done:
            if getattr(self.matcher, "asks_models", False):
                found = await self.matcher.group(answers, prompt, ask=self.ctx.ask)  # type: ignore[call-arg]
            else:
                found = await self.matcher.group(answers, prompt)
            self._done[key] = found
        done = self._done[key]
        return Grouping(done.clusters, [], list(done.notes))  # its calls are booked already


def _chars(call: Call) -> int:
    """The characters a call sends: its prompt, system prompt and conversation."""
    return len(call.prompt) + len(call.system or "") + sum(len(a) + len(b) for a, b in call.history)

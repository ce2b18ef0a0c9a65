"""What every step of a run shares: the request, the participants, the settings, the
answer format, and the run's running totals (usage, notes, judged answers).

Steps (`fanout`, `judge`, `steps`) take a `RunContext` and add to it; none of them
keeps state of its own, so a new step joins a round without touching the others.
"""

from __future__ import annotations

import logging
import random
from typing import Any, NamedTuple

from ..calls import costs
from ..calls.policy import call_with_policy
from ..errors import BudgetStop
from ..judging.arbiter_stream import AnswerFn
from ..structured.formats import TextFormat, format_for
from ..types import Call, Event, Outcome, Participant, ProgressFn, Settings
from .call_records import UsageSum

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
        # Spending (see `spending`): calls saved by kind, why the run stopped early,
        # and how many tiers remain after the one being asked.
        self.saved = {"agreement": 0, "tiers": 0, "waves": 0}
        self.stopped: str | None = None
        self.tiers_left = 0
        self.sent = costs.Sent()  # what prompts cost in tokens, for the budget check
        self._last: tuple[str, int, dict[str, Any]] | None = None

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

    async def call(self, participant: Participant, call: Call) -> Outcome:
        """One participant call under the run's failure policy (`afford` it first)."""
        outcome = await call_with_policy(
            participant, call, timeout=self.settings.timeout, retries=self.settings.retries,
            on_wait=self._waiting,
        )
        if outcome.reply is not None:
            reply = outcome.reply
            self.sent.add(participant.model_id, _chars(call), reply.input_tokens, reply.output_tokens)
        return outcome

    def afford(self, calls: list[tuple[Participant, Call]], step: str = "the next step") -> None:
        """Raise BudgetStop, naming why, when these calls (made together) could pass
        the run's token or money budget; checked before every call of a run."""
        settings = self.settings
        if settings.budget_tokens is None and settings.budget_usd is None:
            return
        planned = [(p.model_id, *self.sent.expected(p.model_id, _chars(c))) for p, c in calls]
        reason = costs.over_budget(
            planned, self.usage.per_model, settings.prices, settings.budget_tokens, settings.budget_usd, step
        )
        if reason is not None:
            raise BudgetStop(reason)

    def note(self, round_number: int, text: str) -> None:
        self.notes.append(f"round {round_number}: {text}")


def _chars(call: Call) -> int:
    """The characters a call sends: its prompt, system prompt and conversation."""
    return len(call.prompt) + len(call.system or "") + sum(len(a) + len(b) for a, b in call.history)

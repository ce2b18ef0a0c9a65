"""How a run asks for, checks, judges and counts answers: as free text, or as JSON
that matches the user's schema (`llm --schema`).

The engine holds one format per run and defers to it at each of those points, so
structured output lives here as one object instead of `if schema` branches through
the rounds. `TextFormat` is what every run without a schema does; `JsonFormat`
sends the schema to the models that support schemas and as instructions to the
others, rejects member answers that do not validate, asks a schema-capable arbiter
for its whole verdict as one JSON object, and votes on canonical JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import ConsortiumFailed, InvalidAnswer, SchemaProblem
from ..judging import prompts, vote
from ..judging.arbiter_reply.verdict import Verdict
from ..judging.matching import Matcher
from ..types import Call, Outcome, Participant
from . import json_answers as structured

__all__ = ["JsonFormat", "TextFormat", "format_for"]

logger = logging.getLogger(__name__)


class TextFormat:
    """Free-text answers: calls go out unchanged, every answer counts, the arbiter
    replies in tags, votes group answers by wording (see `vote`)."""

    schema: dict[str, Any] | None = None
    streams = True  # the synthesis may be shown as the arbiter writes it

    def shown(self, answer: Any) -> Any:
        """Where the arbiter's synthesis goes as it is written: `answer` when this
        format streams, else None (the answer is given whole at the end)."""
        return answer if self.streams else None

    def member_call(self, member: Participant, call: Call) -> Call:
        return call

    def arbiter_call(self, arbiter: Participant, call: Call) -> Call:
        return call

    def arbiter_prompt_options(self, arbiter: Participant) -> dict[str, Any]:
        """Extra keyword arguments for `prompts.build_arbiter_prompt`."""
        return {}

    def check(self, outcome: Outcome) -> None:
        """Reject a member's answer that is not usable, turning `outcome` into a failure."""

    def traced(self, outcome: Outcome, data: dict[str, Any]) -> dict[str, Any]:
        """A member's trace record `data`, with what `check` found about `outcome`."""
        return data

    def read_verdict(self, raw: str, streamed: Callable[[], Verdict]) -> tuple[Verdict | None, str]:
        """(the arbiter's whole reply `raw` as a Verdict, "") or (None, why it holds
        no usable answer). Text takes the verdict the streaming reader made of the
        reply (`streamed`), which never fails: any reply degrades to an untagged one."""
        return streamed(), ""

    async def tally(
        self, answers: list[str | None], names: list[str], matcher: Matcher | None = None
    ) -> tuple[Any, dict[str, Any], list[str], list[tuple[str, Any]]]:
        """(winner with .answer and .share, the vote for the trace, notes, the model
        calls the matcher made as (model id, Outcome)). Text groups answers with the
        run's matcher (None: `auto`)."""
        winner, trace, grouping = await vote.tally_async(answers, names, matcher)
        return winner, trace, list(grouping.notes), list(grouping.calls)


class JsonFormat(TextFormat):
    """Answers that are one JSON value valid for `schema`. Not streamed: an answer
    is shown only once it has been checked, so an invalid one is never half-printed."""

    streams = False

    def __init__(self, schema: dict[str, Any]) -> None:
        try:
            structured.check_schema(schema)  # before any call is spent
        except SchemaProblem as ex:
            raise ConsortiumFailed(f"the schema cannot be used: {ex}") from None
        self.schema = self._schema = schema
        self._verdict_schema = structured.verdict_schema(schema)
        # Rejected answers' trace additions, by the outcome they belong to (kept
        # alive here, so an id is never reused while it is looked up).
        self._rejected: dict[int, tuple[Outcome, dict[str, Any]]] = {}

    def member_call(self, member: Participant, call: Call) -> Call:
        if member.supports_schema:
            return replace(call, schema=self.schema)
        return replace(call, prompt=f"{call.prompt}\n\n{prompts.schema_instructions(self._schema)}")

    def arbiter_call(self, arbiter: Participant, call: Call) -> Call:
        return replace(call, schema=self._verdict_schema) if arbiter.supports_schema else call

    def arbiter_prompt_options(self, arbiter: Participant) -> dict[str, Any]:
        return {"schema": self.schema, "json_verdict": arbiter.supports_schema}

    def check(self, outcome: Outcome) -> None:
        """A valid answer is rewritten as one line of JSON (so the arbiter and the
        vote see clean JSON); an invalid one fails that member, and the trace keeps
        what it said and what it cost. Never raises: whatever goes wrong reading one
        member's reply costs that answer, not the run."""
        if outcome.reply is None:
            return
        try:
            value = structured.parse_answer(outcome.reply.text, self._schema)
            text = structured.dumps(value)
        except InvalidAnswer as ex:
            self._reject(outcome, f"answer rejected: {ex}")
            return
        except Exception as ex:  # a fault in the checking, shown in the trace
            logger.debug("checking a member's answer failed", exc_info=True)
            self._reject(outcome, f"answer could not be checked: {type(ex).__name__}: {ex}")
            return
        outcome.reply = replace(outcome.reply, text=text)

    def _reject(self, outcome: Outcome, error: str) -> None:
        assert outcome.reply is not None
        extra = {"rejected": outcome.reply.text, "usage": outcome.usage()}
        self._rejected[id(outcome)] = (outcome, extra)
        outcome.reply = None
        outcome.error = error

    def traced(self, outcome: Outcome, data: dict[str, Any]) -> dict[str, Any]:
        _, extra = self._rejected.pop(id(outcome), (None, {}))
        return {**data, **extra}

    def read_verdict(self, raw: str, streamed: Callable[[], Verdict]) -> tuple[Verdict | None, str]:
        try:
            return structured.read_verdict(raw, self._schema), ""
        except InvalidAnswer as ex:
            return None, str(ex)
        except Exception as ex:  # a fault in the checking fails this verdict, not the run
            logger.debug("reading the arbiter's verdict failed", exc_info=True)
            return None, f"the verdict could not be checked: {type(ex).__name__}: {ex}"

    async def tally(
        self, answers: list[str | None], names: list[str], matcher: Matcher | None = None
    ) -> tuple[Any, dict[str, Any], list[str], list[tuple[str, Any]]]:
        """JSON answers keep their canonical comparison whatever the matcher."""
        winner, trace = structured.tally(answers, names, self._schema)
        notes = []
        if winner.by_field:
            notes.append("no two members agreed on the whole JSON answer; voted field by field")
        elif "by_field_rejected" in trace:
            notes.append(
                "no two members agreed; the field-by-field vote broke the schema "
                f"({trace['by_field_rejected']}), so the first member's answer was kept"
            )
        return winner, trace, notes, []


def format_for(schema: dict[str, Any] | None) -> TextFormat:
    """The format for a request with this schema (None: free text).
    ConsortiumFailed for a schema that cannot be checked."""
    return JsonFormat(schema) if schema else TextFormat()

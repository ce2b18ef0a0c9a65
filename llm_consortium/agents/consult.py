"""One consult of a saved consortium for an agent, and the honest result both entry
points return (the MCP server and the `Consortium` llm tool).

The run goes through the consortium's own llm model and is logged to llm's logs
like `llm -m NAME` logs a prompt, so `runs`, `trace` and `trace --html` show it. The
result is read back from the run's trace: what the answer rests on (the engine's
`status`, the failed members, a skipped arbiter, the dissent) and what it cost.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llm
from pydantic import BaseModel, Field

from ..engine.status import FAILED
from ..errors import ConsortiumFailed, ConsultError
from ..text.cuts import one_line
from ..text.words import plural
from ..trace import Trace, read_trace

# A consortium whose members failed: the failed ones are often the slowest, and the
# slowest are often the strongest; an agent should know before trusting the rest.
PARTIAL_HINT = "members that fail or time out are often the slowest and strongest; the answer lacks them"
_LINE_CHARS = 160  # a dissenting view, as one line of the result


@dataclass
class Request:
    """What an agent asks: a saved consortium's name, the prompt, and the optional
    system prompt, JSON schema, money limit (USD) and tools for the members."""

    consortium: str
    prompt: str
    system: str | None = None
    schema: dict[str, Any] | None = None
    max_usd: float | None = None
    tools: list[Any] = field(default_factory=list)


class ConsultResult(BaseModel):
    """What happened, in full: the fields an agent reads (structured content, whose
    schema the MCP server publishes from these descriptions) and `as_text()`, the
    same facts in compact text a model reads well."""

    consortium: str = Field(description="The consortium consulted")
    status: str = Field(
        description="complete: every member called answered and the arbiter (or the vote) decided; "
        "partial: some member failed; stopped: a budget ended the run early; fallback: the arbiter "
        "failed and an earlier answer, the review or the vote decided; failed: no answer (see error)"
    )
    answer: str | None = Field(description="The final answer (JSON text under a schema); null when the run failed")
    confidence: float | None = Field(default=None, description="0-1, or null when unknown")
    confidence_threshold: float | None = Field(default=None, description="The confidence the run had to reach")
    degraded: list[str] = Field(default_factory=list, description="One line per fact behind a non-complete status")
    failed_members: list[dict[str, Any]] = Field(
        default_factory=list, description="Each failed member call: member, round, error (a failed run's too)"
    )
    arbiter_skipped: str | None = Field(default=None, description="Why no arbiter judged the final round, else null")
    dissent: list[str] = Field(default_factory=list, description="The minority views, one line each")
    rounds: int = Field(default=0, description="Rounds played")
    calls: int = Field(default=0, description="Model calls made (a failed run's too)")
    requests: int = Field(default=0, description="HTTP requests those calls sent, the providers' SDK retries included")
    input_tokens: int | None = Field(default=None, description="Input tokens spent; null when some model did not say")
    output_tokens: int | None = Field(default=None, description="Output tokens spent; null when some model did not say")
    cost_usd: float | None = Field(default=None, description="USD spent; null when a price is unknown")
    run_id: str | None = Field(
        default=None, description="The logged run (llm consortiums trace RUN_ID); null: logs off, or the run failed"
    )
    error: str | None = Field(default=None, description="Why a failed run has no answer")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def as_text(self) -> str:
        """The result as a model reads it: the answer, then every fact it rests on."""
        head = f"Consortium {self.consortium!r}: status {self.status}"
        if self.confidence is not None:
            head += f", confidence {self.confidence:.2f}"
            if self.confidence_threshold is not None and self.confidence < self.confidence_threshold:
                head += f" (below its threshold {self.confidence_threshold:.2f})"
        elif self.status != FAILED:
            head += ", confidence unknown"
        lines = [head]
        if self.error:
            lines.append(f"Error: {self.error}")
        if self.answer is not None:
            lines += ["Answer:", self.answer]
        lines += [f"- {line}" for line in self.degraded]
        if self.status == "partial":
            lines.append(f"- note: {PARTIAL_HINT}")
        if self.arbiter_skipped:
            lines.append(f"Arbiter skipped: {self.arbiter_skipped}")
        if self.dissent:
            lines += ["Dissent:", *[f"- {line}" for line in self.dissent]]
        lines.append(f"Spent: {self.spent()}")
        if self.run_id:
            lines.append(f"Run: {self.run_id} (llm consortiums trace {self.run_id})")
        return "\n".join(lines)

    def spent(self) -> str:
        tokens = (
            f"{self.input_tokens:,} input + {self.output_tokens:,} output tokens"
            if self.input_tokens is not None and self.output_tokens is not None
            else "tokens unknown"
        )
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "cost unknown"
        return f"{plural(self.rounds, 'round')}, {plural(self.calls, 'call')}, {tokens}, {cost}"


def _dissent(final: dict[str, Any]) -> list[str]:
    """The minority answers of the final round: the arbiter's dissent, one line per
    point, or in a vote every group but the winner's."""
    arbiter = final.get("arbiter") or {}
    if isinstance(arbiter.get("dissent"), str):
        lines = [line.strip(" -*\t") for line in arbiter["dissent"].splitlines()]
        kept = [line for line in lines if line and line.lower().rstrip(".") not in ("none", "n/a")]
        return [one_line(line, _LINE_CHARS) for line in kept]
    groups = (final.get("vote") or {}).get("groups") or []
    return [
        f"{one_line(str(group.get('answer') or ''), _LINE_CHARS)} ({', '.join(group.get('members', []))})"
        for group in groups[1:]
    ]


def _spending(usage: Any) -> dict[str, Any]:
    """The result's spending fields from a run's usage (`Result.usage`), a finished
    or a failed run's alike."""
    rows = (usage.get("per_model") or {}).values()
    return {
        "calls": sum(row.get("calls", 0) for row in rows),
        "requests": sum(row.get("requests", 0) for row in rows),
        "input_tokens": usage.get("input"),
        "output_tokens": usage.get("output"),
        "cost_usd": usage.get("cost_usd"),
    }


def result_from_trace(consortium: str, text: str, stored: Any, run_id: str | None) -> ConsultResult:
    """The result of a finished run, from its trace (a stored one too)."""
    trace: Trace = read_trace(stored)
    rounds = trace["rounds"]
    final = next((r for r in rounds if r.get("round") == trace.get("final_round")), rounds[-1] if rounds else {})
    return ConsultResult(
        consortium=consortium,
        status=trace.get("status", "complete"),
        answer=text,
        confidence=trace.get("confidence"),
        confidence_threshold=trace.get("confidence_threshold"),
        degraded=list(trace.get("degraded", [])),
        failed_members=[dict(f) for f in trace.get("failed_members", [])],
        arbiter_skipped=str(final["arbiter_skipped"]) if final.get("arbiter_skipped") else None,
        dissent=_dissent(dict(final)),
        rounds=len(rounds),
        run_id=run_id,
        **_spending(trace["usage"]),
    )


def failed(consortium: str, error: str, spent: ConsortiumFailed | None = None) -> ConsultResult:
    """A run with no answer: why, and, when the engine ran it, what it spent and which
    members failed (it is not logged: llm logs no prompt that failed)."""
    result = ConsultResult(consortium=consortium, status=FAILED, answer=None, error=error)
    if spent is not None:
        result.rounds = spent.rounds
        result.failed_members = list(spent.failed_members or [])
        for key, value in _spending(spent.usage or {}).items():
            setattr(result, key, value)
    return result


def _engine_failure(ex: BaseException) -> ConsortiumFailed | None:
    """The engine's failure behind llm's ModelError, which carries what the run spent."""
    seen: BaseException | None = ex
    while seen is not None:
        if isinstance(seen, ConsortiumFailed):
            return seen
        seen = seen.__cause__
    return None


def check(request: Request) -> None:
    """Refuse, before any call, a consortium that is not saved or a bad limit."""
    from ..saved.store import list_names

    names = list_names()
    if request.consortium not in names:
        saved = ", ".join(names) or "none"
        raise ConsultError(f"No saved consortium named {request.consortium!r} (saved: {saved})")
    if not request.prompt.strip():
        raise ConsultError("The prompt is empty")
    if request.max_usd is not None and not (math.isfinite(request.max_usd) and request.max_usd >= 0):
        raise ConsultError(
            f"max_usd must be a finite number of USD, 0 or more (omit it for no limit), got {request.max_usd}"
        )


def member_tools(request: Request) -> list[Any]:
    """The request's tools when some member of its consortium can use them, else none:
    tools an agent's server offers every consult are an offer, and a consortium
    whose members cannot run tools answers without them (members that cannot, in a
    panel where others can, answer without them too: see the run's notes)."""
    if not request.tools:
        return []
    from ..adapter.participants import Registry
    from ..saved.store import load

    registry = Registry()
    for member in load(request.consortium).models:
        try:
            model = registry.model(member.model_id)
        except KeyError:  # an unknown member: the run names it
            return request.tools
        if getattr(model, "supports_tools", False):
            return request.tools
    return []


def _prompt_kwargs(request: Request) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"progress": False}  # no status line: the caller reports progress
    if request.system:
        kwargs["system"] = request.system
    if request.schema is not None:
        kwargs["schema"] = request.schema
    if tools := member_tools(request):
        kwargs["tools"] = tools
    if request.max_usd is not None:
        kwargs["budget_usd"] = request.max_usd
    return kwargs


def log(response: Any) -> str | None:
    """Log the finished turn to llm's logs as `llm` logs a prompt (not when the
    user turned logging off); its id, or None."""
    import sqlite_utils

    from ..history.llm_internals import LogStore, logs_db_path, logs_on

    if not logs_on():
        return None
    db = sqlite_utils.Database(logs_db_path())
    LogStore(db)  # creates or upgrades llm's tables, as llm does before logging
    response.log_to_db(db)
    return str(response.id)


async def consult_async(request: Request, on_event: Callable[[Any], None] | None = None) -> ConsultResult:
    """Run `request` on the consortium's async model, log it, and return what
    happened; a run with no answer is a `failed` result. `on_event` hears the
    engine's progress events. Cancelling the task cancels the run."""
    from ..adapter.models import RUN_EVENTS

    check(request)
    model = llm.get_async_model(request.consortium)
    token = RUN_EVENTS.set(on_event)
    try:
        response = model.prompt(request.prompt, **_prompt_kwargs(request))
        try:
            text = await response.text()
        except llm.ModelError as ex:
            return failed(request.consortium, str(ex), _engine_failure(ex))
    finally:
        with contextlib.suppress(ValueError):
            RUN_EVENTS.reset(token)
    run_id = log(response)
    return result_from_trace(request.consortium, text, response.response_json, run_id)


def consult_sync(request: Request) -> ConsultResult:
    """The same, on the consortium's sync model (an llm tool runs synchronously)."""
    check(request)
    model = llm.get_model(request.consortium)
    response = model.prompt(request.prompt, **_prompt_kwargs(request))
    try:
        text = response.text()
    except llm.ModelError as ex:
        return failed(request.consortium, str(ex), _engine_failure(ex))
    run_id = log(response)
    return result_from_trace(request.consortium, text, response.response_json, run_id)

"""The values every layer passes around: a turn, a reply, a participant, how a call
ended, the settings of a run, progress events and the result.

At the bottom of the package (the standard library only), so the engine, the llm
adapter and the commands can all share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from . import settings_spec
from .settings_spec import RUN
from .trace import TRACE_VERSION, FailedMemberRecord, RoundRecord, RunUsage, Trace, member_name

# A coroutine function (not any awaitable): threads hand its calls to the loop.
TextFn = Callable[[str], Coroutine[Any, Any, None]]


@dataclass
class Call:
    """A complete turn with its conversation: what the user asked the consortium,
    and what the engine asks each participant."""

    prompt: str
    system: str | None = None
    history: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[Any] = field(default_factory=list)
    # The JSON schema the reply must match (`llm --schema`): the user's on a request;
    # on a participant's call, set only for a model that takes a schema itself.
    schema: dict[str, Any] | None = None
    # Where the reply's text goes as it arrives (the arbiter, when the answer may
    # stream); None: no one is waiting for it, ask for the whole reply.
    on_text: TextFn | None = field(default=None, compare=False, repr=False)
    # Which round of the run asks (0: not said): members' identical tool calls are
    # shared within one round only.
    round: int = 0
    # Whether a participant that has the run's tools may use them on this call (a
    # peer review judges answers as they are).
    use_tools: bool = True


@dataclass
class ToolUse:
    """One tool call a participant's model made while answering, and its result:
    evidence for the arbiter and a line of the trace."""

    name: str
    arguments: dict[str, Any]
    output: str = ""  # a bounded excerpt of what the tool returned
    error: str | None = None  # the tool raised, was refused or does not exist
    duration_ms: int = 0
    shared: bool = False  # the result came from another member's identical call
    member: str = ""  # who asked (a nested consortium's member, when it was one)


@dataclass
class Reply:
    """What a participant answered, with the tokens it cost when known."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    tool_calls: list[ToolUse] = field(default_factory=list)  # in the order made


CallFn = Callable[[Call], Awaitable[Reply]]


class GateSlot(Protocol):
    """One call's permission to run on a model (`calls.gate.Slot`)."""

    waited: float  # seconds spent waiting for it
    detached: bool  # its call was given up on while its thread still runs
    refusals: int  # 429 responses to its call seen as they happened (its SDK may have retried them)

    def detach(self) -> None: ...  # its call was given up on; its thread releases it when the call ends

    def release(self) -> None: ...


class Gate(Protocol):
    """How many calls may be in flight to a model (`calls.gate.CappedGate`), as the
    failure policy uses it: take a slot, and say how each call went."""

    async def acquire(self) -> GateSlot: ...

    def rate_limited(self, slot: GateSlot | None = None) -> None: ...

    def succeeded(self, slot: GateSlot | None = None) -> None: ...

    @property
    def limit(self) -> int | None: ...

    @property
    def lowest(self) -> int | None: ...


@dataclass
class ContextWindow:
    """What is known of a model's context window, in tokens (None: unknown).

    One object is shared by the participants of one model (and, through the
    adapter, by every run of a process), so a window learned from one call's
    overflow is known to every later call: `source` says where `tokens` came from
    ("file": the consortium's file, "stated": the model or its options,
    "remembered": learned in an earlier run, "learned": this process).
    `token_scale` is the model's tokens per estimated token (at least 1), measured
    from an overflow that gave the prompt's size; `keep` (the adapter's) remembers a
    learned window across runs."""

    tokens: int | None = None
    source: str = ""
    token_scale: float | None = None
    keep: Callable[[ContextWindow], None] | None = field(default=None, compare=False, repr=False)


@dataclass
class Participant:
    """A member instance or the arbiter: a display name and how to call it."""

    model_id: str
    call: CallFn
    instance: int = 1
    attachment_types: frozenset[str] | None = None  # None: unknown, not filtered
    gate: Gate | None = None  # the model's gate under this configuration's cap; None: not gated
    supports_schema: bool = False  # the model takes a JSON schema (llm's supports_schema)
    tier: int = 1  # members of tier 1 answer first; higher tiers only when needed
    supports_tools: bool = False  # the model runs tools (llm's supports_tools)
    limit_group: str | None = None  # the limit group its calls count in, when not its model's own
    window: ContextWindow | None = None  # its model's context window; None: nothing known

    @property
    def name(self) -> str:
        """`model` for the first instance, `model#2` and so on for the others."""
        return member_name(self.model_id, self.instance)


@dataclass
class Outcome:
    """How a participant's call ended, after every attempt."""

    reply: Reply | None = None
    error: str | None = None
    duration_ms: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0  # every HTTP request it cost, the SDK's reported retries included
    rate_limit_waits: int = 0  # times the provider said "wait" (429, 503 + Retry-After)
    rate_limit_wait_ms: int = 0  # time lost to those: refused attempts and waits after them
    queued_ms: int = 0  # time waiting for a free slot on the model's gate
    abandoned: int = 0  # attempts given up while their blocking call still ran
    concurrency_limit: int | None = None  # the model's in-flight limit, once lowered

    @property
    def ok(self) -> bool:
        return self.reply is not None

    def usage(self) -> dict[str, int | None]:
        if self.reply is None:
            return {"input": None, "output": None}
        return {"input": self.reply.input_tokens, "output": self.reply.output_tokens}


@dataclass
class Settings:
    """The stop rule and the failure policy for one run, checked when made: a value
    out of range is a ValueError naming it, never a failure deep inside a run.

    Its fields are the RUN settings of `settings_spec` (max_iterations, timeout,
    agreement, ...), written here by cog, then what the adapter fills in: `prices`
    (USD per 1M tokens) and `matcher`, how a vote decides that answers say the same
    thing (a judging.matching.Matcher, pure or model-backed; None: `auto`; checked
    where it is made)."""

    # The settings table's RUN settings, written by `make settings` (cog); do not edit.
    # [[[cog
    # from llm_consortium.settings_spec import RUN, declarations
    # cog.out(declarations(RUN, "dataclass"))
    # ]]]
    strategy: Literal["arbiter", "vote"] | None = None
    confidence_threshold: float = 0.7
    max_iterations: int = 3
    min_iterations: int = 1
    timeout: float = 120.0
    retries: int = 2
    min_members: int = 1
    skip_arbiter_on_agreement: bool = True
    agreement: float = 1.0
    waves: bool = False
    budget_tokens: int | None = None
    budget_usd: float | None = None
    final_answer_line: bool = False
    review: bool = False
    # [[[end]]]
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    matcher: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = settings_spec.problems({s.name: getattr(self, s.name) for s in settings_spec.settings_in(RUN)})
        if problems:
            raise ValueError("; ".join(problems))

    def votes(self, arbiter: Participant | None) -> bool:
        """Whether answers are counted rather than judged: chosen, or no arbiter."""
        return self.strategy == "vote" or arbiter is None

    def stops(self, confidence: float | None, needs_iteration: bool, round_number: int) -> bool:
        """The stop rule: confident enough after enough rounds with no call for
        another, or the last round allowed."""
        confident = confidence is not None and confidence >= self.confidence_threshold
        return bool(
            (confident and round_number >= self.min_iterations and not needs_iteration)
            or round_number == self.max_iterations
        )


@dataclass
class Event:
    """A progress notice; `kind` is round_start, member_done, review, arbiter_start or
    round_done."""

    kind: str
    round: int
    max_rounds: int
    members_total: int
    members_done: int = 0
    members_failed: int = 0
    confidence: float | None = None
    another_round: bool = False
    rate_limited: int = 0  # calls of the run waiting for a provider's rate limit now
    tool_calls: int = 0  # tool calls members made so far in the run
    reviewers: int = 0  # with kind "review": how many members review this round


ProgressFn = Callable[[Event], None]


@dataclass
class Result:
    """The final answer and the trace of how it was reached."""

    text: str
    confidence: float | None
    final_round: int
    rounds: list[RoundRecord]
    usage: RunUsage
    notes: list[str]
    confidence_threshold: float | None = None  # what the run had to reach, for "below threshold"
    stopped: str | None = None  # why the run stopped before its stop rule (a budget)
    tool_calls: list[ToolUse] = field(default_factory=list)  # every member's, in order made
    # What the answer rests on, decided once by engine/status.py: complete, partial,
    # stopped or fallback; one line per fact behind it; every member call that failed.
    status: str = "complete"
    degraded: list[str] = field(default_factory=list)
    failed_members: list[FailedMemberRecord] = field(default_factory=list)
    warning: str | None = None  # the degraded run's stderr line, what the engine did not say already

    def trace(self) -> Trace:
        """The JSON-ready deliberation, stored as the response's response_json."""
        trace: Trace = {
            "version": TRACE_VERSION,
            "rounds": self.rounds,
            "final_round": self.final_round,
            "confidence": self.confidence,
            "confidence_threshold": self.confidence_threshold,
            "usage": self.usage,
            "notes": self.notes,
            "status": self.status,
            "degraded": self.degraded,
            "failed_members": self.failed_members,
        }
        if self.stopped:
            trace["stopped"] = self.stopped
        return trace

"""The arbiter's judgement made to fit its context window: one call with the full
prompt, one with the compact prompt (`judging.fitting`), or judging in steps.

In steps: when the answers cannot all fit one prompt even cut to `COMPACT_LEAST`
characters each (ten long answers and a 512-token window) but smaller groups of
them can, they are judged in groups that each fit, and each group's synthesis
meets the others' in the next step, until one step judges them all; that last
step's verdict is the round's. When not even two answers keep that much, steps
would cut as short as one call: the one compact call is sent, cut as far as it
goes, even when the estimate says it is still too long (the model's own error is
the authority: an overflow teaches its window, and the round asks again once). The
trace's `fit` record says which form was used and why, and `steps` lists every step.
A model whose window is unknown gets the full prompt, as it always did.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..calls.context_window import estimate_tokens
from ..judging import fitting, prompts
from ..judging.arbiter_reply.streaming import ArbiterStream
from ..judging.arbiter_reply.verdict import Verdict
from ..judging.reply_formats import copies_the_format
from ..text.fencing import strip_markers
from ..types import Call, Outcome, Reply
from .call_records import call_record
from .context import RunContext
from .fanout import RoundState

Finality = Callable[[Verdict], bool]
"""Whether a round with this verdict gives the final answer (`decide.is_final`)."""


@dataclass
class Plan:
    """How the arbiter is asked this round: `form` "full", "compact" or "stepwise";
    the one call's prompt (`fitted`: for steps, the compact one cut as far as it
    goes), the answers per step (`group`) and why."""

    form: str
    fitted: fitting.Fitted
    room: int | None = None
    group: int = 0
    why: str = ""

    def record(self, ctx: RunContext) -> dict[str, Any]:
        """The trace's `fit` record: the window, the form and the cut."""
        window = ctx.arbiter.window if ctx.arbiter is not None else None
        record: dict[str, Any] = {"form": self.form, "prompt_tokens": self.room}
        if window is not None:
            record.update(window=window.tokens, source=window.source)
        if self.form != "stepwise" and self.fitted.share is not None:
            record["answer_chars"] = self.fitted.share
        if not self.fitted.fits:
            record["fits"] = False
        if self.group:
            record.update(group=self.group, why=self.why)
        return record


@dataclass
class Asked:
    """What asking the arbiter gave: the last call's outcome and stream (the final
    step's, or the step that failed), that call's prompt, the plan it followed
    (made again when the window was learned while the call waited for its turn)
    and every step's record."""

    outcome: Outcome
    stream: ArbiterStream
    sent: str
    plan: Plan
    steps: list[dict[str, Any]] = field(default_factory=list)


def builder(ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], review: str | None
            ) -> fitting.Build:
    """The arbiter's prompt for `answers` as a builder (`caps`, `compact`)."""
    assert ctx.arbiter is not None
    options = ctx.format.arbiter_prompt_options(ctx.arbiter)

    def build(caps: Any = fitting.DEFAULT_CAPS, compact: bool = False) -> str:
        return prompts.build_arbiter_prompt(
            prompt=ctx.request.prompt, history=ctx.request.history, answers=answers, round_number=rnd.number,
            max_rounds=ctx.settings.max_iterations, review=review, caps=caps, compact=compact, **options,
        )

    return build


def _texts(ctx: RunContext, answers: list[prompts.LabelledAnswer]) -> list[str | None]:
    return [*(text for role, text in ctx.request.history if role == "assistant"), *(a.text for a in answers)]


def plan(ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], review: str | None) -> Plan:
    """The form that fits the arbiter's window (see the module docstring)."""
    assert ctx.arbiter is not None
    room = fitting.prompt_room(ctx.arbiter.window, estimate_tokens(ctx.request.system or ""))
    fitted = fitting.fit_prompt(builder(ctx, rnd, answers, review), _texts(ctx, answers), room)
    if room is None or fitted.holds(fitting.COMPACT_LEAST):
        return Plan(fitted.form, fitted, room)
    answered = sorted((a for a in answers if a.text is not None), key=lambda a: len(a.text or ""), reverse=True)
    for size in range(len(answered) - 1, 1, -1):  # the largest group whose longest answers still fit
        group = answered[:size]
        if fitting.fit_prompt(builder(ctx, rnd, group, None), _texts(ctx, group), room).holds(fitting.COMPACT_LEAST):
            break
    else:  # steps would cut as short as one call does: one call, cut as far as it goes
        return Plan(fitted.form, fitted, room)
    why = (
        f"{len(answered)} answers do not fit one prompt of {room:,} tokens even cut to "
        f"{fitting.COMPACT_LEAST} characters each; groups of {size} whose syntheses meet again"
    )
    return Plan("stepwise", fitted, room, group=size, why=why)


async def ask(ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], review: str | None,
              how: Plan, final: Finality) -> Asked:
    """Ask the arbiter as `how` says; the round's verdict is read from the last call.

    A model's calls wait their turn (its gate): a window learned meanwhile (another
    run's overflow, in an eval) makes the one call's prompt again before it is sent."""
    if how.form == "stepwise":
        return await _in_steps(ctx, rnd, [a for a in answers if a.text is not None], how, final)
    followed = [how]

    def refit() -> str:
        followed.append(plan(ctx, rnd, answers, review))
        return followed[-1].fitted.text

    outcome, stream, sent = await call_arbiter(ctx, how.fitted.text, final, refit)
    return Asked(outcome, stream, sent, followed[-1])


def _known(ctx: RunContext) -> tuple[int | None, float | None]:
    window = ctx.arbiter.window if ctx.arbiter is not None else None
    return (window.tokens, window.token_scale) if window is not None else (None, None)


async def call_arbiter(
    ctx: RunContext, text: str, final: Finality | None, refit: Callable[[], str] | None = None
) -> tuple[Outcome, ArbiterStream, str]:
    """One arbiter call with this prompt, afforded and booked: (its outcome, its
    stream, the prompt sent). Its synthesis is shown as it streams
    only when `final` says the round's answer is final (None: never). With `refit`,
    a window learned while the call waited for its turn makes the prompt again."""
    assert ctx.arbiter is not None
    planned, send, sent = _known(ctx), ctx.arbiter.call, [text]

    async def when_its_turn(call: Call) -> Reply:
        if refit is not None and _known(ctx) != planned:
            call = dataclasses.replace(call, prompt=refit())
            sent.append(call.prompt)
        return await send(call)

    stream = ArbiterStream(final or (lambda head: False), ctx.format.shown(ctx.answer) if final else None)
    arbiter = dataclasses.replace(ctx.arbiter, call=stream.wrap(when_its_turn))
    call = ctx.format.arbiter_call(ctx.arbiter, Call(text, ctx.request.system, [], list(ctx.arbiter_attachments)))
    ctx.afford([(ctx.arbiter, call)], "the arbiter's call")
    outcome = await ctx.call(arbiter, call)  # booked in the run's ledger
    ctx.printed = ctx.printed or stream.printed
    return outcome, stream, sent[-1]


def read(ctx: RunContext, raw: str, stream: ArbiterStream) -> tuple[Verdict | None, str, int]:
    """The arbiter's reply as a verdict, or (None, why it holds no answer: nothing,
    the prompt's fences, or the reply format's placeholder copied); and how many
    fence markers echoed from the prompt were taken out of its synthesis."""
    verdict, problem = ctx.format.read_verdict(raw, stream.verdict)
    if verdict is None:
        return None, f"answer rejected: {problem}", 0
    synthesis, echoed = strip_markers(verdict.synthesis) if not ctx.printed else (verdict.synthesis, 0)
    verdict.synthesis = synthesis
    if not synthesis.strip():
        why = "held only the prompt's fence markers" if echoed else "held no answer"
        return None, f"the arbiter's reply {why}", echoed
    if copies_the_format(synthesis):
        return None, "the arbiter's reply copied the reply format's placeholder instead of an answer", echoed
    return verdict, "", echoed


def _groups(items: list[Any], size: int) -> list[list[Any]]:
    """`items` in as few groups of at most `size` as can be, their sizes within one."""
    count = math.ceil(len(items) / size)
    base, extra = divmod(len(items), count)
    groups, start = [], 0
    for index in range(count):
        end = start + base + (1 if index < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


async def _in_steps(ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], how: Plan,
                    final: Finality) -> Asked:
    pending: list[tuple[str, prompts.LabelledAnswer]] = [(a.label, a) for a in answers]  # (what it stands for, answer)
    steps: list[dict[str, Any]] = []
    for level in range(1, len(answers) + 1):
        groups = _groups(pending, how.group)
        last = len(groups) == 1
        after: list[tuple[str, prompts.LabelledAnswer]] = []
        for group in groups:
            if len(group) == 1:  # an odd one out meets the others in the next step
                after.append(group[0])
                continue
            members = [a for _, a in group]
            if level > 1:  # syntheses and the odd ones out, under fresh labels
                fresh = prompts.labels(len(group))
                members = [dataclasses.replace(a, label=label) for a, label in zip(members, fresh, strict=True)]
            number = len(steps) + 1
            record: dict[str, Any] = {"step": number, "judged": [name for name, _ in group]}
            steps.append(record)
            outcome, stream, sent = await _step(ctx, rnd, members, how, final if last else None, record)
            if last or outcome.reply is None:
                return Asked(outcome, stream, sent, how, steps)
            verdict, problem, _ = read(ctx, record.pop("text"), stream)
            if verdict is None:
                record["error"] = problem
                failed = dataclasses.replace(outcome, reply=None, error=f"step {number}: {problem}")
                return Asked(failed, stream, sent, how, steps)
            record["synthesis"] = verdict.synthesis
            after.append((f"step {number}", prompts.LabelledAnswer("", verdict.synthesis, None)))
        pending = after
    raise AssertionError("every step judges two answers or more as one, so the steps end")


async def _step(ctx: RunContext, rnd: RoundState, answers: list[prompts.LabelledAnswer], how: Plan,
                final: Finality | None, record: dict[str, Any]) -> tuple[Outcome, ArbiterStream, str]:
    """One step's call, its prompt fitted and its cuts noted; its trace fills `record`."""
    assert ctx.arbiter is not None
    fitted = fitting.fit_prompt(builder(ctx, rnd, answers, None), _texts(ctx, answers), how.room)
    for note in prompts.arbiter_cut_notes(ctx.request.history, answers, fitted.caps):
        ctx.note(rnd.number, f"step {record['step']}: {note}")
    outcome, stream, sent = await call_arbiter(ctx, fitted.text, final)
    record["form"] = fitted.form
    if fitted.share is not None:
        record["answer_chars"] = fitted.share
    record.update({k: v for k, v in call_record(ctx.arbiter, outcome).items() if k not in ("model", "instance")})
    return outcome, stream, sent

"""The `llm` models a saved consortium becomes: ConsortiumModel and AsyncConsortiumModel.

A `_SharedConsortium` mixin holds all the logic (config, history, resolving members,
recording the trace); the two classes only adapt it to llm's sync and async execute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, cast

import click
import llm
from llm.parts import TextPart
from pydantic import ValidationInfo, field_validator

from ..errors import ConsortiumError, StoreError
from ..memory import after_run
from ..saved import store
from ..saved.fields import check_setting, option_field
from ..settings_spec import OPTION, RUN, settings_in

if TYPE_CHECKING:
    from ..saved.config import ConsortiumConfig
    from ..types import Event, Result, Settings, TextFn

logger = logging.getLogger(__name__)

# Who else hears the progress of the runs started in this context, besides the status
# line: an agent's consult (agents/consult.py) reports rounds and members to its client.
RUN_EVENTS: ContextVar[Callable[[Event], None] | None] = ContextVar("consortium_run_events", default=None)

# What a consortium model declares to llm, which validates attachments before the
# consortium runs: the usual image, audio and PDF types. Whether a member really
# takes them is decided per member at run time by `fit`.
CONSORTIUM_ATTACHMENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
        "audio/wav",
        "audio/mpeg",
        "audio/mp3",
        "audio/ogg",
        "audio/flac",
        "audio/aac",
        "application/pdf",
    }
)

class ConsortiumOptions(llm.Options):
    """Per-call overrides (`-o key value`) of the saved consortium settings: every
    OPTION setting of `settings_spec`, None (the saved value) unless given. llm
    validates them before the consortium runs, by the table's rule, and `llm models
    --options` lists them."""

    # The settings table's OPTION settings, written by `make settings` (cog); do not edit.
    # [[[cog
    # from llm_consortium.settings_spec import OPTION, declarations
    # cog.out(declarations(OPTION, "option"))
    # ]]]
    confidence_threshold: float | None = option_field("confidence_threshold")
    max_iterations: int | None = option_field("max_iterations")
    min_iterations: int | None = option_field("min_iterations")
    timeout: float | None = option_field("timeout")
    call_mode: Literal["auto", "thread", "async"] | None = option_field("call_mode")
    progress: bool | None = option_field("progress")
    skip_arbiter_on_agreement: bool | None = option_field("skip_arbiter_on_agreement")
    agreement: float | None = option_field("agreement")
    waves: bool | None = option_field("waves")
    budget_tokens: int | None = option_field("budget_tokens")
    budget_usd: float | None = option_field("budget_usd")
    matching: Literal["auto", "exact", "number", "choice", "semantic", "judge"] | None = option_field("matching")
    matching_model: str | None = option_field("matching_model")
    matching_tolerance: float | None = option_field("matching_tolerance")
    matching_threshold: float | None = option_field("matching_threshold")
    final_answer_line: bool | None = option_field("final_answer_line")
    review: bool | None = option_field("review")
    # [[[end]]]

    @field_validator("*", mode="before")
    @classmethod
    def _table_rule(cls, value: Any, info: ValidationInfo) -> Any:
        return check_setting(value, info, per_call=True)


def _text_of(message: Any) -> str:
    return "".join(part.text for part in message.parts if isinstance(part, TextPart))


def split_conversation(prompt: llm.Prompt) -> tuple[str, str, list[tuple[str, str]]]:
    """(current prompt text, system prompt, earlier turns) from llm's prompt.

    History must come from `prompt.messages`: on `llm -c` the conversation object
    holds no responses, and after the first chat turn `prompt.system` is empty
    while the system message is still at the head of the messages.
    """
    messages = prompt.messages
    system_texts = [_text_of(m) for m in messages if m.role == "system"]
    turns = [m for m in messages if m.role in ("user", "assistant")]
    current = prompt.prompt
    if turns and turns[-1].role == "user":
        last = turns.pop()
        current = current or _text_of(last)
    history = [(m.role, text) for m in turns if (text := _text_of(m))]
    system = prompt.system or "\n\n".join(t for t in system_texts if t)
    return current, system, history


def settings_for(config: ConsortiumConfig, options: ConsortiumOptions) -> Settings:
    """The engine's Settings for one call: each RUN setting from the saved config,
    overridden by the `-o` of the same name when it has one and it is given."""
    from ..types import Settings  # not at import: registering models must stay cheap

    values: dict[str, Any] = {}
    for setting in settings_in(RUN):
        given = getattr(options, setting.name) if OPTION in setting.places else None
        values[setting.name] = given if given is not None else getattr(config, setting.name)
    values["min_iterations"], values["max_iterations"] = _iterations(
        config, options.min_iterations, options.max_iterations
    )
    values["matcher"] = _matcher(config, options, values["timeout"])
    return Settings(**values)


def with_prices(settings: Settings, members: list[Any], arbiter: Any) -> Settings:
    """`settings` with the price of every model the run may call, from the user's
    price table. A money budget needs every one of them: a model without a price
    is refused here, before any call, naming it. Without a budget a broken table
    only loses the cost figures."""
    import dataclasses

    from ..calls.costs import unpriced
    from ..saved import prices as table

    model_ids = [p.model_id for p in [*members, *([arbiter] if arbiter else [])]]
    model_ids += getattr(settings.matcher, "model_ids", ())  # `judge` and `semantic` call a model too
    try:
        saved = table.load()
        found = table.for_models(model_ids, saved, _canonical_names()) if saved else {}
    except StoreError as ex:
        if settings.budget_usd is not None:
            raise llm.ModelError(str(ex)) from ex
        logger.warning("Consortium: %s; costs are not shown", ex)
        found = {}
    missing = unpriced(model_ids, found) if settings.budget_usd is not None else []
    if missing:
        raise llm.ModelError(
            f"A money budget (budget_usd {settings.budget_usd:g}) needs a price for every model it may call; "
            f"none is set for {', '.join(missing)}: llm consortiums prices set MODEL INPUT OUTPUT"
        )
    return dataclasses.replace(settings, prices=found)


def _canonical_names() -> dict[str, str]:
    """Every name llm knows (ids and aliases) -> its model's id."""
    return {name: model.model_id for name, model in llm.get_model_aliases().items()}


def _matcher(config: ConsortiumConfig, options: ConsortiumOptions, timeout: float) -> Any:
    """The vote's matcher: the saved matching settings, overridden by `-o`; checked
    here, before any call (llm.ModelError in one line)."""
    from .model_matchers import matcher_for

    def pick(key: str) -> Any:
        value = getattr(options, key, None)
        return value if value is not None else getattr(config, key)

    return matcher_for(
        pick("matching"), pick("matching_model"), pick("matching_tolerance"), pick("matching_threshold"),
        timeout=timeout, retries=config.retries,
    )


def _iterations(config: ConsortiumConfig, low: int | None, high: int | None) -> tuple[int, int]:
    """(min, max) rounds for one call. The rule: never more rounds than the
    max_iterations in effect, which is what the README promises. An `-o` value wins
    over the saved one; `-o max_iterations` is a ceiling, so it lowers a saved min
    above it; an `-o min_iterations` above the max in effect (`-o` or saved) would
    pass that ceiling, so it is refused in one line, saying how to raise it."""
    if low is not None and high is not None and low > high:
        raise llm.ModelError(f"-o min_iterations ({low}) cannot be greater than -o max_iterations ({high})")
    if low is not None and high is None and low > config.max_iterations:
        raise llm.ModelError(
            f"-o min_iterations ({low}) cannot be greater than this consortium's max_iterations "
            f"({config.max_iterations}); add -o max_iterations {low} to allow {low} rounds"
        )
    if high is not None:
        return min(low if low is not None else config.min_iterations, high), high
    return (low if low is not None else config.min_iterations), config.max_iterations


class ModelFailed(ConsortiumError, llm.ModelError, click.ClickException):
    """A consortium turn that failed (its members, its settings, a cycle), as llm
    sees it: an `llm.ModelError`, which `llm prompt` prints as one line, and a
    `click.ClickException` too, because `llm chat`'s loop catches nothing and click
    prints only those as one `Error:` line (any other exception ends a chat with a
    traceback). It derives from llm's and click's classes, which `errors.py` may not
    import, so it lives here."""


class _SharedConsortium:
    """Everything a consortium model does, for both the sync and the async class."""

    can_stream = True
    supports_conversation = True
    supports_schema = True  # members and arbiter are checked against it (see formats)
    supports_tools = True  # members run the prompt's tools in their own loops (tools.py)
    attachment_types: set[str] | frozenset[str] = CONSORTIUM_ATTACHMENT_TYPES
    Options = ConsortiumOptions

    def __init__(self, name: str) -> None:
        self.model_id = name

    @property
    def consortium_name(self) -> str:
        """Marks this model as a consortium for `cycles`, which must not import us."""
        return self.model_id

    def __str__(self) -> str:
        try:
            detail = store.cached_summary(self.model_id)
        except Exception as ex:
            detail = f"broken: {ex}"
        from ..text.terminal import inert  # `llm models` prints this: file text made inert

        return inert(f"Consortium: {self.model_id} ({detail})")

    def load_config(self) -> ConsortiumConfig:
        from ..saved.options import problem  # saved options checked before any call

        try:
            config = store.load(self.model_id)
        except (StoreError, ValueError) as ex:
            raise llm.ModelError(str(ex)) from ex
        if bad := problem(config):
            raise llm.ModelError(f"{store.path_for(self.model_id)}: {bad}")
        return config

    async def deliberate(self, prompt: llm.Prompt, answer: TextFn | None = None, response: Any = None) -> Result:
        """Run the consortium on llm's prompt; returns the engine's Result. The final
        answer also goes to `answer`, as it is written when it can stream. The
        prompt's tools go to the members, with `response`'s before/after hooks."""
        from .. import engine
        from ..errors import ConsortiumFailed
        from ..types import Call
        from .participants import resolve
        from .progress import status_line
        from .tool_loop import tool_kit, tool_notes

        config = self.load_config()
        options = cast(ConsortiumOptions, prompt.options)
        settings = settings_for(config, options)
        current, system, history = split_conversation(prompt)
        if config.system_prompt:
            system = "\n\n".join(s for s in (config.system_prompt, system) if s)
        kit = tool_kit(config, prompt, response)
        from ..saved.cycles import refuse_tool_loops

        refuse_tool_loops(self.model_id, prompt.tools)  # a Consortium tool leading back here
        members, arbiter = resolve(config, options.call_mode, tools=kit)
        notes = tool_notes(self.model_id, members) if kit is not None else []
        schema = cast("dict[str, Any] | None", prompt.schema)  # llm makes a pydantic class a dict
        settings = with_prices(settings, members, arbiter)
        request = Call(current, system or None, history, list(prompt.attachments), schema=schema)
        with status_line(self.model_id, options.progress) as line:
            listener = RUN_EVENTS.get()
            progress = line if listener is None else _both(line, listener)

            async def to_user(text: str) -> None:
                if line is not None:
                    line.finish()  # before the first chunk; never redrawn after it
                assert answer is not None
                await answer(text)

            try:
                result = await engine.run(
                    request, members, arbiter, settings, progress=progress,
                    answer=to_user if answer is not None else None,
                )
                result.notes.extend(notes)
                result.tool_calls = list(kit.uses) if kit is not None else []
                return result
            except ConsortiumFailed as ex:
                raise llm.ModelError(f"Consortium {self.model_id!r} failed: {ex}") from ex

    async def answer_chunks(self, prompt: llm.Prompt, response: Any, stream: bool) -> AsyncIterator[Any]:
        """The final answer for llm's execute, chunk by chunk as the engine releases
        it (in one piece when not streaming); then the members' tool calls, as calls
        already executed; the trace is recorded at the end. A failure reaches llm as
        a ModelFailed."""
        try:
            async for chunk in self._answer_chunks(prompt, response, stream):
                yield chunk
        except ModelFailed:
            raise
        except llm.ModelError as ex:
            raise ModelFailed(str(ex)) from ex

    async def _answer_chunks(self, prompt: llm.Prompt, response: Any, stream: bool) -> AsyncIterator[Any]:
        from .tool_loop import executed_events

        if not stream:
            result = await self.deliberate(prompt, response=response)
            self.record(response, result)
            yield result.text
            for event in executed_events(result.tool_calls):
                yield event
            return
        chunks: asyncio.Queue[str | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.deliberate(prompt, answer=chunks.put, response=response))
        task.add_done_callback(lambda _: chunks.put_nowait(None))
        try:
            while (chunk := await chunks.get()) is not None:
                yield chunk
            result = task.result()
        finally:
            if not task.done():  # the caller stopped reading: stop the run too
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.record(response, result)
        for event in executed_events(result.tool_calls):
            yield event

    def record(self, response: Any, result: Result) -> None:
        """Put the run's cost and trace on the consortium's own logged turn."""
        per_model = result.usage["per_model"]
        # `-u` shows these details: the run's cost when every price is known, the
        # calls the arbiter skip, tiers and waves did not make, and what a budget
        # counted for usage a model did not report.
        spending = {key: result.usage[key] for key in ("cost_usd", "calls_saved", "estimated") if result.usage.get(key)}
        # The status too (engine/status.py), so `-u` says what the answer rests on.
        response.set_usage(
            input=result.usage["input"],
            output=result.usage["output"],
            details={"models": per_model, **spending, "status": result.status} if per_model else None,
        )
        response.response_json = {"consortium": self.model_id, **result.trace()}
        if result.warning:  # a degraded run says so, once; stdout keeps only the answer
            logger.warning("Consortium %s: %s", self.model_id, result.warning)


def _both(line: Any, listener: Callable[[Event], None]) -> Callable[[Event], None]:
    def both(event: Event) -> None:
        if line is not None:
            line(event)
        listener(event)

    return both


# llm declares Options as a nested class; ours is ConsortiumOptions, its subclass.
class ConsortiumModel(_SharedConsortium, llm.Model):  # type: ignore[misc]
    def execute(self, prompt, stream, response, conversation):
        from .loop import shared_loop
        from .sync_iter import iterate_sync

        # The run goes on on the shared loop's thread; chunks are yielded as they come.
        try:
            yield from iterate_sync(lambda: self.answer_chunks(prompt, response, stream), shared_loop())
        finally:
            # Under llm's CLI the process is llm's (`llm chat` runs turn after turn);
            # a Python program's memory is its own to manage.
            if click.get_current_context(silent=True) is not None:
                after_run()


class AsyncConsortiumModel(_SharedConsortium, llm.AsyncModel):  # type: ignore[misc]
    async def execute(self, prompt, stream, response, conversation):
        async for chunk in self.answer_chunks(prompt, response, stream):
            yield chunk


def register_consortiums(register, names: list[str]) -> None:
    """Register each saved consortium by name; files are read only when used."""
    for name in names:
        register(ConsortiumModel(name), AsyncConsortiumModel(name))

"""The llm adapter: turning installed `llm` models into the participants the engine
calls, before any call is spent (unknown ids, missing keys and cycles fail here).

An async model is awaited on the run's event loop; a sync-only model runs in its
own daemon thread, so a hung provider can neither serialise the fan-out (a shared
executor would cap concurrency) nor keep the process alive after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import llm

from .cycles import check_cycles
from .policy import remember_secret
from .types import Call, CallFn, Participant, Reply

logger = logging.getLogger(__name__)

T = TypeVar("T")


def in_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking `fn` in a new daemon thread; await the returned future.

    The thread runs in a copy of the caller's context (as asyncio.to_thread does).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any = None, error: BaseException | None = None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def deliver(*args: Any) -> None:
        # RuntimeError: the run is over and its loop closed: nobody is waiting
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *args)

    def target() -> None:
        try:
            value = context.run(fn)
        except BaseException as exc:
            deliver(None, exc)
        else:
            deliver(value)

    threading.Thread(target=target, name="llm-consortium-member", daemon=True).start()
    return future


def _messages(call: Call) -> list[Any] | None:
    """The earlier turns as llm Messages, system first; None without history.

    Passed alongside `system=` because some plugins read only one of the two.
    """
    if not call.history:
        return None
    messages = [llm.system(call.system)] if call.system else []
    for role, text in call.history:
        messages.append(llm.assistant(text) if role == "assistant" else llm.user(text))
    return messages


def llm_call(sync_model: Any, async_model: Any, options: dict[str, Any]) -> CallFn:
    """A coroutine function calling one `llm` model with this member's options."""

    # Streamed only when someone reads the text as it arrives (the arbiter) and the
    # model says it can: llm's Python API would not check `can_stream` for us.
    can_stream = bool(getattr(async_model or sync_model, "can_stream", False))

    def kwargs_for(call: Call) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"stream": can_stream and call.on_text is not None}
        if call.system:
            kwargs["system"] = call.system
        if call.attachments:
            kwargs["attachments"] = list(call.attachments)
        messages = _messages(call)
        if messages is not None:
            kwargs["messages"] = messages
        if options:
            kwargs["options"] = dict(options)
        if call.schema is not None:
            kwargs["schema"] = call.schema
        return kwargs

    if async_model is not None:

        async def call_async(call: Call) -> Reply:
            response = async_model.prompt(call.prompt, **kwargs_for(call))
            if call.on_text is not None:
                async for chunk in response:
                    await call.on_text(chunk)
            text = await response.text()
            usage = await response.usage()
            return Reply(text, usage.input, usage.output)

        return call_async

    async def call_sync(call: Call) -> Reply:
        loop = asyncio.get_running_loop()

        def blocking() -> Reply:
            response = sync_model.prompt(call.prompt, **kwargs_for(call))
            if call.on_text is not None:
                for chunk in response:  # each chunk handed to the loop, in order
                    asyncio.run_coroutine_threadsafe(call.on_text(chunk), loop).result()
            text = response.text()
            usage = response.usage()
            return Reply(text, usage.input, usage.output)

        return await in_thread(blocking)

    return call_sync


class Registry:
    """Every registered model by id and alias, from one registration pass (each
    `llm.get_model` call re-runs every plugin's registration)."""

    def __init__(self) -> None:
        self.sync: dict[str, Any] = {}
        self.async_: dict[str, Any] = {}
        for entry in llm.get_models_with_aliases():
            for name in (entry.model.model_id, *entry.aliases):
                self.sync[name] = entry.model
                if entry.async_model is not None:
                    self.async_[name] = entry.async_model

    def model(self, model_id: str) -> Any:
        """The model a participant calls: the async one when there is one.
        KeyError for an id or alias nobody registered."""
        model = self.async_.get(model_id) or self.sync.get(model_id)
        if model is None:
            raise KeyError(model_id)
        return model

    def participant(self, model_id: str, options: dict[str, Any], instance: int = 1) -> Participant:
        """An engine participant calling `model_id` with `options`. KeyError for an
        unknown id, llm.ModelError (from the model) for a key that is not set."""
        model = self.model(model_id)
        remember_secret(model.get_key())
        call = llm_call(self.sync.get(model_id), self.async_.get(model_id), options)
        types = frozenset(getattr(model, "attachment_types", None) or ())
        schemas = bool(getattr(model, "supports_schema", False))
        return Participant(model_id, call, instance, attachment_types=types, supports_schema=schemas)

    def checked_participant(
        self, model_id: str, options: dict[str, Any], role: str, instance: int = 1, owner: str = ""
    ) -> Participant:
        """`participant()`, with every failure as one llm.ModelError naming the role
        (member, arbiter, baseline) and the model: the single place those messages
        are worded."""
        try:
            return self.participant(model_id, options, instance)
        except KeyError:
            raise llm.ModelError(f"{owner}unknown {role} model {model_id!r}") from None
        except llm.ModelError as ex:
            raise llm.ModelError(f"{owner}{role} model {model_id!r}: {ex}") from ex


def resolve(config: Any) -> tuple[list[Participant], Participant | None]:
    """Turn a config's model ids into engine participants, before any call is spent.

    An unknown id, a missing key or a cycle fails here, naming it.
    """
    registry = Registry()
    check_cycles(config, registry.sync)
    for value in llm.load_keys().values():
        remember_secret(value)

    def participant(model_id: str, options: dict[str, Any], role: str, instance: int = 1) -> Participant:
        return registry.checked_participant(
            model_id, options, role, instance, owner=f"Consortium {config.name!r}: "
        )

    members = [
        participant(member.model_id, member.options, "member", instance)
        for member in config.models
        for instance in range(1, member.count + 1)
    ]
    arbiter = None
    if config.arbiter is not None and config.effective_strategy == "arbiter":
        arbiter = participant(config.arbiter.model_id, config.arbiter.options, "arbiter")
    return members, arbiter

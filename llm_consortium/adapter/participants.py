"""The llm adapter: turning installed `llm` models into the participants the engine
calls, before any call is spent (unknown ids, missing keys and cycles fail here),
and deciding how each call physically runs.

How a call runs (`call_mode`):
- "thread": the model's sync implementation in a pool thread (threads.py). Chosen
  automatically whenever a model has one: llm's plugins build a client, and with it
  a TLS context that parses the CA bundle, for every prompt; one event loop does
  that CPU work call after call, threads overlap it (OpenSSL releases the GIL);
- "async": the model's async implementation on the run's loop. Always for a nested
  consortium, and for any model when forced (`call_mode: async`) because its plugin
  misbehaves in threads.
A mode the model cannot do falls back to the one it can.

Each model gets the process-wide gate of `calls.gate.gate_for`, under `max_concurrent` from
the member or arbiter entry, by default 1 for a model with no async implementation
(local engines hold one handle that is not thread-safe, and are CPU/GPU-bound
anyway) and unlimited otherwise. Every call runs inside the stdio guard (stdio.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import llm

from ..calls.failures import remember_secret
from ..calls.gate import gate_for
from ..calls.leases import LIMITS_VARIABLE, share_limits
from ..calls.limit_groups import limit_group
from ..calls.stdio import guarded
from ..calls.threads import in_thread
from ..saved.config import ArbiterConfig, ConsortiumConfig
from ..saved.cycles import check_cycles
from ..text.words import says_no
from ..trace import member_name
from ..types import Call, CallFn, Participant, Reply
from .http_refusals import watch_http_refusals
from .loop import wait_on
from .tool_loop import tool_call
from .tools import ToolKit
from .windows import window_for

logger = logging.getLogger(__name__)

def call_mode(sync_model: Any, async_model: Any, forced: str | None = None) -> str:
    """"thread" or "async": how calls to this model run (see the module docstring)."""
    if async_model is None:
        return "thread"
    if sync_model is None or getattr(async_model, "consortium_name", None):
        return "async"
    return "async" if forced == "async" else "thread"


def default_max_concurrent(async_model: Any) -> int | None:
    """1 for a sync-only model, unlimited (None) for one with an async implementation."""
    return 1 if async_model is None else None


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


def prompt_kwargs(call: Call, options: dict[str, Any], can_stream: bool) -> dict[str, Any]:
    """The keyword arguments of llm's `prompt` / `chain` for one call."""
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


def llm_call(
    sync_model: Any,
    async_model: Any,
    options: dict[str, Any],
    mode: str | None = None,
    name: str = "",
    tools: ToolKit | None = None,
) -> CallFn:
    """A coroutine function calling one `llm` model with this member's options, the
    way `call_mode` chooses, inside the stdio guard (`name` is who its warning names).
    With `tools`, the model runs its own tool loop with them."""
    model_id = getattr(async_model or sync_model, "model_id", "member")
    name = name or model_id

    # Streamed only when someone reads the text as it arrives (the arbiter) and the
    # model says it can: llm's Python API would not check `can_stream` for us.
    can_stream = bool(getattr(async_model or sync_model, "can_stream", False))

    def kwargs_for(call: Call) -> dict[str, Any]:
        return prompt_kwargs(call, options, can_stream)

    if tools is not None:  # the member runs its own tool loop (tools.py)
        run_async = call_mode(sync_model, async_model, mode) == "async"
        loop_call = tool_call(tools, sync_model, async_model, run_async, name, kwargs_for)

        async def call_tools(call: Call) -> Reply:
            with guarded(name, model_id):
                return await loop_call(call)

        return call_tools

    if call_mode(sync_model, async_model, mode) == "async":

        async def call_async(call: Call) -> Reply:
            with guarded(name, model_id):
                response = async_model.prompt(call.prompt, **kwargs_for(call))
                if call.on_text is not None:
                    async for chunk in response:
                        await call.on_text(chunk)
                text = await response.text()
                usage = await response.usage()
            return Reply(text, usage.input, usage.output)

        return call_async

    def blocking(call: Call, loop: asyncio.AbstractEventLoop) -> Reply:
        response = sync_model.prompt(call.prompt, **kwargs_for(call))
        if call.on_text is not None:
            on_text = call.on_text
            for chunk in response:  # each chunk handed to the loop, in order
                wait_on(loop, on_text(chunk))
        text = response.text()
        usage = response.usage()
        return Reply(text, usage.input, usage.output)

    async def call_sync(call: Call) -> Reply:
        # Guarded while awaited: a call given up on (its thread runs on) stops
        # holding back the check that puts stdio right for the calls after it.
        loop = asyncio.get_running_loop()
        with guarded(name, model_id):
            return await in_thread(lambda: blocking(call, loop), model_id)

    return call_sync


def group_of(model: Any, explicit: str | None = None) -> str:
    """The limit group `model`'s calls count in (`calls/limit_groups.py`): llm's
    OpenAI-compatible models name their server as `api_base`."""
    api_base = getattr(model, "api_base", None)
    return limit_group(model.model_id, explicit, api_base if isinstance(api_base, str) else None)


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

    def limit_group(self, model_id: str, explicit: str | None = None) -> str:
        """The limit group `model_id`'s calls count in (`group_of`); for a model
        nobody installed, the explicit group or the id itself."""
        try:
            return group_of(self.model(model_id), explicit)
        except KeyError:
            return limit_group(model_id, explicit)

    def participant(
        self,
        model_id: str,
        options: dict[str, Any],
        instance: int = 1,
        max_concurrent: int | None = None,
        mode: str | None = None,
        tools: ToolKit | None = None,
        limit_group: str | None = None,
    ) -> Participant:
        """An engine participant calling `model_id` with `options`, gated by the
        model's process-wide gate (its limits counted in its limit group), running a
        tool loop with `tools` when its model supports tools. KeyError for an
        unknown id, llm.ModelError (from the model) for a key that is not set."""
        model = self.model(model_id)
        remember_secret(model.get_key())
        sync_model, async_model = self.sync.get(model_id), self.async_.get(model_id)
        name = member_name(model_id, instance)
        uses_tools = bool(getattr(model, "supports_tools", False)) and tools is not None
        call = llm_call(sync_model, async_model, options, mode, name, tools if uses_tools else None)
        types = frozenset(getattr(model, "attachment_types", None) or ())
        if max_concurrent is None:
            max_concurrent = default_max_concurrent(async_model)
        # One gate per model object, whatever alias names it; the cap is this configuration's.
        group = group_of(model, limit_group)
        gate = gate_for(model.model_id, max_concurrent, group)
        schemas = bool(getattr(model, "supports_schema", False))
        return Participant(
            model_id, call, instance, attachment_types=types, gate=gate, supports_schema=schemas,
            supports_tools=bool(getattr(model, "supports_tools", False)),
            limit_group=None if group == model.model_id else group,
        )

    def checked_participant(
        self,
        model_id: str,
        options: dict[str, Any],
        role: str,
        instance: int = 1,
        owner: str = "",
        max_concurrent: int | None = None,
        mode: str | None = None,
        tools: ToolKit | None = None,
        limit_group: str | None = None,
    ) -> Participant:
        """`participant()`, with every failure as one llm.ModelError naming the role
        (member, arbiter, baseline) and the model: the single place those messages
        are worded."""
        try:
            return self.participant(model_id, options, instance, max_concurrent, mode, tools, limit_group)
        except KeyError:
            raise llm.ModelError(f"{owner}unknown {role} model {model_id!r}") from None
        except llm.ModelError as ex:
            raise llm.ModelError(f"{owner}{role} model {model_id!r}: {ex}") from ex

    def named_participant(self, model_id: str, role: str) -> Participant:
        """`model_id` alone, with its default options (a baseline or a judge), named by
        its model id even when given as an alias; llm.ModelError names the role."""
        participant = self.checked_participant(model_id, {}, role)
        return dataclasses.replace(participant, model_id=self.model(model_id).model_id)


SHARING_SWITCH = "LLM_CONSORTIUM_SHARED_LIMITS"


def _sharing_off() -> bool:
    """Whether the user turned off sharing rate limits across processes (a user dir
    on a slow network share, say)."""
    return says_no(os.environ.get(SHARING_SWITCH, ""))


def resolve(
    config: ConsortiumConfig, call_mode: str | None = None, registry: Registry | None = None,
    tools: ToolKit | None = None,
) -> tuple[list[Participant], Participant | None]:
    """Turn a config's model ids into engine participants, before any call is spent.

    An unknown id, a missing key or a cycle fails here, naming it. `call_mode`
    (from `-o call_mode`) overrides the config's. A command that looks up more
    models (a baseline, a judge) passes its `registry`, so plugins register once.
    With `tools`, members (and the arbiter, when `tools.arbiter`) use them.
    """
    mode = call_mode or config.call_mode
    registry = registry or Registry()
    share_limits(None if _sharing_off() else Path(llm.user_dir()), os.environ.get(LIMITS_VARIABLE))
    watch_http_refusals()
    check_cycles(config, registry.sync)
    for value in llm.load_keys().values():
        remember_secret(value)

    def participant(entry: ArbiterConfig, role: str, instance: int = 1) -> Participant:
        given = tools if role == "member" or (tools is not None and tools.arbiter) else None
        called = registry.checked_participant(
            entry.model_id, entry.options, role, instance, owner=f"Consortium {config.name!r}: ",
            max_concurrent=entry.max_concurrent, mode=mode, tools=given, limit_group=entry.limit_group,
        )
        return dataclasses.replace(called, window=window_for(registry.model(entry.model_id), entry))

    members = [
        dataclasses.replace(participant(member, "member", instance), tier=getattr(member, "tier", 1))
        for member, instance in config.instances()
    ]
    arbiter = None
    if config.arbiter is not None and config.effective_strategy == "arbiter":
        arbiter = participant(config.arbiter, "arbiter")
    return members, arbiter

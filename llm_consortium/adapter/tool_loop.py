"""One member's tool loop: its model's llm `chain` with the run's ToolKit (tools.py),
and what the consortium model needs around it: the kit for a prompt, the note on
members without tool support, and the calls reported to llm as already executed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import llm
from llm.parts import StreamEvent

from ..types import Call, CallFn, Reply, ToolUse
from .loop import wait_on
from .tools import ToolKit


def executed_events(uses: list[ToolUse]) -> list[StreamEvent]:
    """Every call of the run as server-executed stream events: llm stores them with
    the consortium's turn (`llm logs` shows them) and never runs them again."""
    found: list[StreamEvent] = []
    for use in uses:
        call_id = f"consortium-{uuid.uuid4().hex[:16]}"
        meta = {"consortium": {"member": use.member, "duration_ms": use.duration_ms, "shared": use.shared}}
        common: dict[str, Any] = {"tool_call_id": call_id, "server_executed": True, "provider_metadata": meta}
        found.append(StreamEvent("tool_call_name", use.name, **common))
        found.append(StreamEvent("tool_call_args", json.dumps(use.arguments, default=repr), **common))
        output = use.output if use.error is None else f"Error: {use.error}"
        found.append(StreamEvent("tool_result", output, tool_name=use.name, **common))
    return found


def chain_failed(ex: ValueError, limit: int | None) -> llm.ModelError:
    """llm's "Chain limit of N exceeded." as a member's clear, final failure."""
    return llm.ModelError(
        f"its tool loop reached the chain limit of {limit} model calls "
        "(raise it with the consortium's tools.chain_limit)"
    )


def tool_call(
    kit: ToolKit,
    sync_model: Any,
    async_model: Any,
    run_async: bool,
    name: str,
    kwargs_for: Callable[[Call], dict[str, Any]],
) -> CallFn:
    """A coroutine function running one member's tool loop on `call`: its model's
    chain with the kit's tools and hooks; the Reply carries every call it made.
    `run_async` picks the async model on the loop, else the sync one in a thread."""
    from ..calls.threads import in_thread
    from ..judging.prompts import schema_instructions

    def chain_kwargs(call: Call) -> dict[str, Any]:
        """llm's chain sends the schema with its first request only: the loop's
        final answer, asked for later, learns the format from the prompt too."""
        kwargs = kwargs_for(call)
        if call.schema is not None:
            kwargs["prompt"] = f"{call.prompt}\n\n{schema_instructions(call.schema)}"
        else:
            kwargs["prompt"] = call.prompt
        return kwargs

    if run_async:

        async def call_async(call: Call) -> Reply:
            kit.loop = asyncio.get_running_loop()
            chain = async_model.conversation().chain(
                tools=kit.wrapped(name, call.round, True) if call.use_tools else [], chain_limit=kit.chain_limit,
                **kit.async_hooks(name), **chain_kwargs(call),
            )
            reply = Reply("")
            asked: list[Any] = []
            try:
                async for response in chain.responses():
                    _add_step(kit, name, reply, response, asked)
                    async for chunk in response:
                        if call.on_text is not None:
                            await call.on_text(chunk)
                    _add_usage(reply, await response.usage())
                    reply.tool_calls.extend(kit.record_executed(name, await response.messages()))
                    asked = await response.tool_calls()
                    reply.text = await response.text()
            except ValueError as ex:
                if "Chain limit" not in str(ex):
                    raise
                raise chain_failed(ex, kit.chain_limit) from ex
            return reply

        return call_async

    def blocking(call: Call, loop: asyncio.AbstractEventLoop) -> Reply:
        chain = sync_model.conversation().chain(
            tools=kit.wrapped(name, call.round, False) if call.use_tools else [], chain_limit=kit.chain_limit,
            **kit.sync_hooks(name), **chain_kwargs(call),
        )
        reply = Reply("")
        asked: list[Any] = []
        try:
            for response in chain.responses():
                _add_step(kit, name, reply, response, asked)
                for chunk in response:
                    if call.on_text is not None:
                        wait_on(loop, call.on_text(chunk))
                _add_usage(reply, response.usage())
                reply.tool_calls.extend(kit.record_executed(name, response.messages()))
                asked = response.tool_calls()
                reply.text = response.text()
        except ValueError as ex:
            if "Chain limit" not in str(ex):
                raise
            raise chain_failed(ex, kit.chain_limit) from ex
        return reply

    async def call_sync(call: Call) -> Reply:
        loop = kit.loop = asyncio.get_running_loop()
        return await in_thread(lambda: blocking(call, loop), getattr(sync_model, "model_id", name))

    return call_sync


def _add_step(kit: ToolKit, name: str, reply: Reply, response: Any, asked: list[Any]) -> None:
    """Record the results a new step of the loop carries: those of the calls the
    previous step asked for."""
    results = response.prompt.tool_results or []
    if results:
        reply.tool_calls.extend(kit.record(name, asked, list(results)))


def _add_usage(reply: Reply, usage: Any) -> None:
    """Sum a step's tokens into the reply; unknown stays unknown only when no step knew."""
    if usage.input is not None:
        reply.input_tokens = (reply.input_tokens or 0) + usage.input
    if usage.output is not None:
        reply.output_tokens = (reply.output_tokens or 0) + usage.output


def tool_kit(config: Any, prompt: Any, response: Any) -> ToolKit | None:
    """The run's ToolKit when llm's prompt carries function tools, else None: the
    tools, the response's hooks, and the saved tool settings."""
    tools = [t for t in (getattr(prompt, "tools", None) or []) if isinstance(t, llm.Tool)]
    if not tools:
        return None
    settings = config.tools
    limit = settings.chain_limit
    conversation_limit = getattr(getattr(response, "conversation", None), "chain_limit", None)
    if conversation_limit is not None:  # set from llm's Python API
        limit = conversation_limit
    return ToolKit(
        tools,
        before_call=getattr(response, "before_call", None),
        after_call=getattr(response, "after_call", None),
        chain_limit=limit,
        share=settings.share_identical,
        unshared=frozenset(settings.unshared),
        arbiter=settings.arbiter,
    )


def tool_notes(name: str, members: list[Any]) -> list[str]:
    """The trace's note on members answering without the tools; llm.ModelError,
    before any call, when no member can use them."""
    without = [m.name for m in members if not m.supports_tools]
    if len(without) == len(members):
        raise llm.ModelError(
            f"Consortium {name!r}: no member supports tools ({', '.join(without)})"
        )
    if not without:
        return []
    return [f"answered without the tools (their models do not support tools): {', '.join(without)}"]

"""Members that use the prompt's tools: each member runs its own tool loop (llm's
`chain`) with the user's hooks, and every call it made travels back as evidence.

The rules a run's calls follow, and why:
- the user's `before_call` / `after_call` (llm's `--ta` / `--td`, or the Python API's)
  see every member's calls, one at a time: concurrent members never interleave
  prompts on the terminal, and a prompt from llm's CLI is preceded by the member's
  name. They run in a worker thread, so one waiting for an answer blocks no loop;
- a refusal (`CancelToolCall`) becomes that member's "Cancelled" result, as llm
  makes it, and touches no other member;
- identical calls (same tool, same arguments) of one round run once; every member
  that asked gets the result. A member asking again in its own loop runs it again;
- a sync tool in an async loop runs in a thread (llm's own async runner would call
  it on the event loop and stall every other member);
- a member's loop stops after `chain_limit` model calls (llm's rule), failing that
  member alone.
The calls are then reported to llm as already executed (server-executed stream
events), so llm records them and never runs them again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import llm
from llm.parts import ToolCallPart, ToolResultPart

from ..calls.gate import current_slot
from ..calls.threads import in_thread
from ..errors import ToolCancelled
from ..text.cuts import excerpt
from ..types import ToolUse
from .loop import wait_on
from .progress import asking_the_user
from .toolboxes import prepare_async, prepare_sync

#: llm's default chain limit (`--cl`), the most model calls in one member's loop.
DEFAULT_CHAIN_LIMIT = 5


@dataclass
class _Entry:
    """One execution of a tool call, and the members that got its result. `waiting`
    counts the members awaiting it now; an async execution runs as `task` of its own,
    so the member that started it can be cancelled without orphaning the others, and
    is cancelled only when nobody waits for it any more; it then leaves the round's
    cache (`key`), so a later asker runs the call afresh."""

    result: concurrent.futures.Future[Any]
    members: set[str] = field(default_factory=set)
    waiting: int = 0
    task: asyncio.Future[None] | None = None
    key: tuple[int, str, str] | None = None  # in the round's cache under this key (None: not shared)


class ToolKit:
    """The tools of one consortium call, and the state their calls share: the
    approval lock, the per-round cache of identical calls, the record of calls."""

    def __init__(
        self,
        tools: list[Any],
        before_call: Callable[..., Any] | None = None,
        after_call: Callable[..., Any] | None = None,
        chain_limit: int | None = DEFAULT_CHAIN_LIMIT,
        share: bool = True,
        unshared: frozenset[str] = frozenset(),
        arbiter: bool = False,
    ) -> None:
        self.tools: list[llm.Tool] = [t for t in tools if isinstance(t, llm.Tool)]
        self.before_call = before_call
        self.after_call = after_call
        self.chain_limit = chain_limit
        self.share = share
        self.unshared = unshared
        self.arbiter = arbiter  # the arbiter gets the tools too (a saved setting)
        self.uses: list[ToolUse] = []  # every call of the run, in the order made
        self.loop: asyncio.AbstractEventLoop | None = None
        self._hooks = threading.Lock()  # one prompt or display at a time
        self._state = threading.Lock()
        self._cache: dict[tuple[int, str, str], _Entry] = {}
        self._timings: dict[str, tuple[int, bool]] = {}  # tool_call_id -> (ms, shared)

    # -- the user's hooks, serialised

    def _hook(self, member: str, hook: Callable[..., Any], *args: Any) -> None:
        """Run a user hook in this (worker) thread under the lock; an async hook's
        coroutine goes to the run's loop. Exceptions (CancelToolCall) propagate."""
        with self._hooks:
            if getattr(hook, "__module__", "") != "llm.cli":
                outcome = hook(*args)
            else:  # a terminal prompt or display: the status line keeps off it
                from ..text.terminal import inert

                with asking_the_user():
                    sys.stderr.write(f"\nConsortium member {inert(member)}:\n")
                    sys.stderr.flush()
                    outcome = hook(*args)
            if inspect.isawaitable(outcome):
                assert self.loop is not None
                wait_on(self.loop, outcome)

    def _original(self, tool: llm.Tool | None) -> llm.Tool | None:
        if tool is None:
            return None
        return next((t for t in self.tools if t.name == tool.name), tool)

    def sync_hooks(self, member: str) -> dict[str, Any]:
        """before_call / after_call for a member's sync chain (it runs in a thread)."""
        hooks: dict[str, Any] = {}
        if self.before_call is not None:
            before = self.before_call
            hooks["before_call"] = lambda tool, tc: self._hook(member, before, self._original(tool), tc)
        if self.after_call is not None:
            after = self.after_call
            hooks["after_call"] = lambda tool, tc, tr: self._hook(member, after, self._original(tool), tc, tr)
        return hooks

    def async_hooks(self, member: str) -> dict[str, Any]:
        """The same for an async chain: the hook runs in a thread, off the loop."""
        hooks: dict[str, Any] = {}
        for key, sync in self.sync_hooks(member).items():

            async def off_loop(*args: Any, sync: Callable[..., None] = sync) -> None:
                await in_thread(lambda: sync(*args))

            hooks[key] = off_loop
        return hooks

    # -- shared executions

    def _claim(self, round_number: int, member: str, name: str, arguments: dict[str, Any]) -> tuple[_Entry, bool]:
        """The execution this call gets, counted as waited for, and whether this
        caller must run it."""
        key = (round_number, name, json.dumps(arguments, sort_keys=True, default=repr))
        sharing = self.share and name not in self.unshared
        with self._state:
            entry = self._cache.get(key) if sharing else None
            mine = entry is None or member in entry.members
            if entry is None or mine:
                entry = _Entry(concurrent.futures.Future(), {member}, key=key if sharing else None)
                if sharing:
                    self._cache[key] = entry
            entry.members.add(member)
            entry.waiting += 1
            return entry, mine

    def _abandoned(self, entry: _Entry) -> bool:
        """A member stopped waiting for `entry` (it was cancelled); whether nobody
        waits for its unfinished async execution any more. Such an execution leaves
        the cache in the same step, so a later asker never joins it."""
        with self._state:
            entry.waiting -= 1
            if entry.waiting or entry.task is None or entry.result.done():
                return False
            if entry.key is not None and self._cache.get(entry.key) is entry:
                del self._cache[entry.key]
            return True

    def _timed(self, tool_call: Any, started: float, shared: bool) -> None:
        with self._state:
            self._timings[tool_call.tool_call_id] = (round((time.monotonic() - started) * 1000), shared)

    def wrapped(self, member: str, round_number: int, run_async: bool) -> list[llm.Tool]:
        """The run's tools for one member's chain: same names and schemas, their
        implementation going through the shared executions (and, in an async chain,
        a thread for a sync tool)."""
        return [
            llm.Tool(
                name=tool.name,
                description=tool.description,
                input_schema=tool.input_schema,
                implementation=(self._async_impl if run_async else self._sync_impl)(member, round_number, tool),
                plugin=tool.plugin,
            )
            for tool in self.tools
        ]

    def _sync_impl(self, member: str, round_number: int, tool: llm.Tool) -> Callable[..., Any]:
        def execute(entry: _Entry, llm_tool_call: Any, arguments: dict[str, Any]) -> None:
            with _settling(entry), _outside_the_members_call():
                prepare_sync(tool)
                value = tool.implementation(**_arguments(tool, llm_tool_call, arguments))  # type: ignore[misc]
                if inspect.isawaitable(value):
                    assert self.loop is not None
                    value = wait_on(self.loop, value)
                entry.result.set_result(value)

        def run(llm_tool_call: Any, **arguments: Any) -> Any:
            started = time.monotonic()
            entry, mine = self._claim(round_number, member, tool.name, arguments)  # a thread waits to the end
            try:
                if mine:
                    execute(entry, llm_tool_call, arguments)
                return entry.result.result()
            finally:
                self._timed(llm_tool_call, started, not mine)

        return run

    def _async_impl(self, member: str, round_number: int, tool: llm.Tool) -> Callable[..., Awaitable[Any]]:
        async def execute(entry: _Entry, llm_tool_call: Any, arguments: dict[str, Any]) -> None:
            implementation: Any = tool.implementation
            with _settling(entry), _outside_the_members_call():
                await prepare_async(tool)
                call_arguments = _arguments(tool, llm_tool_call, arguments)
                if inspect.iscoroutinefunction(implementation):
                    value = await implementation(**call_arguments)
                else:  # a sync tool: in a thread, never on the loop
                    value = await in_thread(lambda: implementation(**call_arguments))
                    if inspect.isawaitable(value):
                        value = await value
                entry.result.set_result(value)

        async def run(llm_tool_call: Any, **arguments: Any) -> Any:
            started = time.monotonic()
            entry, mine = self._claim(round_number, member, tool.name, arguments)
            if mine:
                entry.task = asyncio.ensure_future(execute(entry, llm_tool_call, arguments))
            try:
                return await asyncio.shield(asyncio.wrap_future(entry.result))
            except asyncio.CancelledError:
                if self._abandoned(entry) and entry.task is not None:
                    entry.task.cancel()  # nobody waits for it any more
                raise
            finally:
                self._timed(llm_tool_call, started, not mine)

        return run

    # -- what the calls were

    def record(self, member: str, calls: list[Any], results: list[Any]) -> list[ToolUse]:
        """ToolUses for one step of a member's loop: the calls its model asked for
        and the results llm gave back (cancelled and unknown tools included)."""
        by_id = {getattr(c, "tool_call_id", None): c for c in calls}
        uses = []
        for result in results:
            call = by_id.get(result.tool_call_id)
            with self._state:
                duration, shared = self._timings.pop(result.tool_call_id, (0, False))
            error = None
            if result.exception is not None:
                error = f"{type(result.exception).__name__}: {result.exception}"
            uses.append(
                ToolUse(
                    name=result.name,
                    arguments=dict(getattr(call, "arguments", None) or {}),
                    output=excerpt(result.output or ""),
                    error=error,
                    duration_ms=duration,
                    shared=shared,
                    member=member,
                )
            )
        with self._state:
            self.uses.extend(uses)
        return uses

    def record_executed(self, member: str, messages: list[Any]) -> list[ToolUse]:
        """ToolUses a member reported as already executed (a nested consortium's
        members' calls, a provider's server-side tools), from its response."""
        results = {
            p.tool_call_id: p for m in messages for p in m.parts
            if isinstance(p, ToolResultPart) and p.server_executed
        }
        uses = []
        for message in messages:
            for part in message.parts:
                if isinstance(part, ToolCallPart) and part.server_executed:
                    result = results.get(part.tool_call_id)
                    output = result.output if result is not None else ""
                    error = result.exception if result is not None else None
                    who = (part.provider_metadata or {}).get("consortium", {}).get("member", "")
                    name = f"{member} > {who}" if who else member
                    uses.append(ToolUse(part.name, dict(part.arguments), excerpt(output), error, member=name))
        with self._state:
            self.uses.extend(uses)
        return uses


@contextlib.contextmanager
def _settling(entry: _Entry) -> Any:
    """Settle `entry.result` however the execution inside ends. A tool error is the
    members' error result, as llm gives. A cancellation of the execution itself (all
    its members left) cancels the result, which nobody awaits; a CancelledError the
    tool raised of its own accord (its session closed) is an error result like any
    other, so no member that asked is cancelled by it."""
    try:
        yield
    except asyncio.CancelledError as ex:
        task = _current_task()
        if task is not None and task.cancelling():
            entry.result.cancel()
            raise
        entry.result.set_exception(ToolCancelled(_cancelled_reason(ex)))
    except Exception as ex:
        entry.result.set_exception(ex)
    except BaseException as ex:  # KeyboardInterrupt in a tool's thread: the others hear of it too
        entry.result.set_exception(ex)
        raise


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a sync tool's own thread: no loop, nobody cancels it
        return None


def _cancelled_reason(ex: BaseException) -> str:
    detail = str(ex)
    return f"the tool call was cancelled: {detail}" if detail else "the tool call was cancelled"


@contextlib.contextmanager
def _outside_the_members_call() -> Any:
    """A tool's own HTTP requests are not the member's: a 429 from a web tool's API
    must not teach the model's gate (the 429 watch reads `current_slot`)."""
    token = current_slot.set(None)
    try:
        yield
    finally:
        current_slot.reset(token)


def _arguments(tool: llm.Tool, tool_call: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments for the user's implementation, with llm's `llm_tool_call`
    when it asks for it (as llm passes it)."""
    if "llm_tool_call" in _parameters(tool.implementation):
        return {**arguments, "llm_tool_call": tool_call}
    return arguments


def _parameters(implementation: Any) -> set[str]:
    try:
        return set(inspect.signature(implementation).parameters)
    except (TypeError, ValueError):
        return set()

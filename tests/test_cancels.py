"""Cancels that land anywhere: a long-lived process (`llm chat`, eval, the MCP server)
meets timeouts, Ctrl-C and cancelled requests all day, and one cancelled wait must
never poison what comes after it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import llm
import pytest

from llm_consortium.adapter import loop
from llm_consortium.adapter.tools import ToolKit
from llm_consortium.calls.gate import ModelGate
from llm_consortium.calls.threads import Capacity
from llm_consortium.engine import run
from llm_consortium.types import Call

from helpers import Scripted, settings, verdict


def _impl(kit: ToolKit, member: str, round_number: int = 1):
    (tool,) = kit.wrapped(member, round_number, True)
    return tool.implementation


def _call(name: str, **arguments):
    return llm.ToolCall(name=name, arguments=arguments, tool_call_id=f"{name}-{id(arguments)}")


# ------------------------------------------------------------------ shared tool calls


def test_a_shared_tool_call_abandoned_by_its_only_member_is_run_afresh_for_the_next():
    """Alpha's call of fetch(u) is cancelled (its timeout) while nobody else waits for
    it; beta, a later wave of the same round, asks the identical call: it gets the
    page, never alpha's cancellation."""

    async def scenario() -> tuple[str, int]:
        started = asyncio.Event()
        runs = 0

        async def fetch(url: str) -> str:
            """Fetches a page"""
            nonlocal runs
            runs += 1
            if runs == 1:
                started.set()
                await asyncio.Event().wait()  # alpha's execution never ends by itself
            return f"page at {url}"

        kit = ToolKit([llm.Tool.function(fetch)])
        alpha = asyncio.ensure_future(_impl(kit, "alpha")(_call("fetch", url="u"), url="u"))
        await started.wait()
        alpha.cancel()
        await asyncio.gather(alpha, return_exceptions=True)
        page = await asyncio.wait_for(_impl(kit, "beta")(_call("fetch", url="u"), url="u"), 20)  # a hang guard
        return page, runs

    assert asyncio.run(scenario()) == ("page at u", 2)


def test_a_tool_that_raises_cancelled_error_itself_is_an_error_result_for_every_member():
    """A tool whose own work was cancelled (its MCP session closed, say) fails the
    call for the members that asked, as any tool error does: the members are not
    cancelled, and the next identical call of the round gets the same error."""

    async def scenario() -> list[str]:
        async def lookup(q: str) -> str:
            """Looks something up"""
            raise asyncio.CancelledError("the tool's session was closed")

        kit = ToolKit([llm.Tool.function(lookup)])
        seen = []
        for member in ("alpha", "beta"):
            try:
                await _impl(kit, member)(_call("lookup", q="x"), q="x")
            except asyncio.CancelledError:
                seen.append(f"{member}: cancelled")
            except Exception as ex:
                seen.append(f"{member}: {ex}")
        return seen

    assert asyncio.run(scenario()) == [
        "alpha: the tool call was cancelled: the tool's session was closed",
        "beta: the tool call was cancelled: the tool's session was closed",
    ]


# ------------------------------------------------------------------ a fan-out's children


def test_a_member_call_that_ends_cancelled_on_its_own_is_a_failed_member_with_its_reason():
    """A member's call raises CancelledError though nobody cancelled the run (a
    cancelled future it awaited, deep in a plugin): the member fails, saying so,
    and the run goes on with the others."""

    async def cancelled_inside(call: Call) -> str:
        raise asyncio.CancelledError("a future it awaited was cancelled")

    members = [Scripted("alpha", cancelled_inside).participant(), Scripted("beta", "Paris.").participant()]
    arbiter = Scripted("judge", verdict("Paris.")).participant()

    result = asyncio.run(run(Call("capital?"), members, arbiter, settings(max_iterations=1)))

    assert result.text == "Paris."
    alpha, beta = result.rounds[0]["members"]
    assert alpha["model"] == "alpha" and "text" not in alpha
    assert alpha["error"] == "its call was cancelled from within: a future it awaited was cancelled"
    assert beta["text"] == "Paris."


def test_a_cancelled_run_still_cancels_every_member():
    """The other side of the rule above: a cancel from outside (Ctrl-C, the caller's
    timeout) is never taken for a member's failure; it ends the run."""

    async def scenario() -> bool:
        started = asyncio.Event()

        async def hangs(call: Call) -> str:
            started.set()
            await asyncio.Event().wait()
            return "never"

        members = [Scripted("alpha", hangs).participant()]
        task = asyncio.ensure_future(run(Call("q"), members, None, settings(max_iterations=1, timeout=600)))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(scenario())


# ------------------------------------------------------------------ the waiting line


def _one_at_a_time() -> list[tuple[str, Callable[[], Any]]]:
    """Both users of the waiting line, each letting one call in at a time: a
    model's gate under `max_concurrent` 1, and a thread allowance of 1. Each
    `take()` returns a release function."""

    def gate() -> Callable[[], Any]:
        model = ModelGate(max_concurrent=1)

        async def take() -> Callable[[], None]:
            return (await model.acquire()).release

        take.held = lambda: model.in_flight  # type: ignore[attr-defined]
        return take

    def allowance() -> Callable[[], Any]:
        capacity = Capacity(1)

        async def take() -> Callable[[], None]:
            await capacity.acquire()
            return capacity.release

        take.held = lambda: capacity.used  # type: ignore[attr-defined]
        return take

    return [("gate", gate), ("thread allowance", allowance)]


@pytest.mark.parametrize(("user", "make"), _one_at_a_time())
def test_a_waiter_cancelled_in_line_leaves_it_and_the_next_gets_the_room(user, make):
    async def scenario() -> tuple[bool, int]:
        take = make()
        release = await take()
        leaving = asyncio.ensure_future(take())
        staying = asyncio.ensure_future(take())
        await asyncio.sleep(0)  # both wait in line now
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        release()
        (await asyncio.wait_for(staying, 20))()  # a hang guard
        return leaving.cancelled(), take.held()

    assert asyncio.run(scenario()) == (True, 0)


@pytest.mark.parametrize(("user", "make"), _one_at_a_time())
def test_room_granted_to_a_waiter_as_it_is_cancelled_goes_to_the_next(user, make):
    """The room is handed over (from whichever thread freed it) and the waiter is
    cancelled before its loop wakes it: it gives the room back, never keeps it."""

    async def scenario() -> tuple[bool, int]:
        take = make()
        release = await take()
        unlucky = asyncio.ensure_future(take())
        staying = asyncio.ensure_future(take())
        await asyncio.sleep(0)
        release()  # granted to `unlucky`, its wake-up only scheduled
        unlucky.cancel()  # lands first
        await asyncio.gather(unlucky, return_exceptions=True)
        (await asyncio.wait_for(staying, 20))()
        return unlucky.cancelled(), take.held()

    assert asyncio.run(scenario()) == (True, 0)


@pytest.mark.parametrize(("user", "make"), _one_at_a_time())
def test_a_waiter_whose_loop_closed_is_passed_over(user, make):
    """A script's own loop closed with a call still waiting (nobody will ever
    resume it there): the room goes to the next waiter, on another loop."""
    take = make()
    mine = asyncio.new_event_loop()
    release = mine.run_until_complete(take())
    other = asyncio.new_event_loop()
    abandoned = other.create_task(take())
    other.run_until_complete(asyncio.sleep(0))  # it waits in line
    other.close()
    abandoned._log_destroy_pending = False  # closed with its loop, on purpose
    staying = mine.create_task(take())
    mine.run_until_complete(asyncio.sleep(0))
    release()
    mine.run_until_complete(asyncio.wait_for(staying, 20))()
    mine.close()
    assert take.held() == 0


# ------------------------------------------------------------------ a thread waiting on a loop


def test_a_task_cancelled_before_its_first_step_still_runs_its_unwinding():
    """`OnLoop.cancel()` right after the start: the coroutine's `finally` runs (its
    member calls are stopped) before cancel() returns, never a coroutine closed
    unstarted."""
    shared = loop.shared_loop()
    for _ in range(50):  # the cancel can meet the task at any point of its start
        ran: list[str] = []

        async def guarded(ran: list[str] = ran) -> None:
            ran.append("started")
            try:
                await asyncio.Event().wait()
            finally:
                ran.append("unwound")

        running = loop.OnLoop(shared, guarded())
        running.cancel()
        assert ran == ["started", "unwound"]
        with pytest.raises(asyncio.CancelledError):
            running.result()

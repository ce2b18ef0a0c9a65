"""Cancels that land anywhere: a long-lived process (`llm chat`, eval, the MCP server)
meets timeouts, Ctrl-C and cancelled requests all day, and one cancelled wait must
never poison what comes after it."""

from __future__ import annotations

import asyncio

import llm

from llm_consortium.adapter.tools import ToolKit
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

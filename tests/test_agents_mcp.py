"""`llm consortiums mcp` end to end: the MCP SDK's own client talks to a real
`llm consortiums mcp` subprocess over stdio, whose consortiums call the loopback
server through llm's real OpenAI plugin. The test plugin is installed in the server
(an entry point), so a member that prints to stdout as it loads is part of the run.

Nothing here waits on the clock: a consult that must still be running is asked with
`wait_seconds` 0, and a member held by the loopback server (`hang`) is waited for
by its request arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import local_plugin
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from helpers import LLM_BIN, ok, refused, save, subprocess_env
from loopback import NO_RETRY, error, hang, reply, tagged_verdict

TESTS = Path(__file__).resolve().parent


@contextlib.asynccontextmanager
async def mcp_server(user_path: Path, tmp_path: Path, *args: str) -> AsyncIterator[tuple[Client, Path]]:
    """The SDK's client on a real `llm consortiums mcp ARGS` process (the test plugin
    installed); yields the client and the file that receives the server's stderr."""
    site = local_plugin.entry_point_dir(tmp_path / "site")
    path = os.pathsep.join(filter(None, [str(site), str(TESTS), os.environ.get("PYTHONPATH")]))
    env = subprocess_env(user_path, PYTHONPATH=path)
    params = StdioServerParameters(command=LLM_BIN, args=["consortiums", "mcp", *args], env=env)
    stderr = tmp_path / "server-stderr.txt"
    with stderr.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client, stderr


async def call(client: Client, tool: str, **arguments: Any) -> tuple[dict[str, Any], str]:
    """A tool call that must succeed: (structured content, text)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    return result.structured_content or {}, text


async def arrived(loopback: Any, model: str) -> None:
    assert await asyncio.to_thread(loopback.wait_for_requests, 1, model=model, timeout=30)


@pytest.fixture
def consortiums(loopback, openai_models):
    openai_models(["alpha", "beta", "broken", "stuck", "judge"])
    loopback.script("judge", reply(tagged_verdict("Paris", 0.9, dissent="Lyon, said one member")))
    loopback.script("broken", error(500, "upstream exploded", NO_RETRY))
    loopback.script("stuck", hang(30))
    save("panel", ["alpha", "beta"])
    save("shaky", ["alpha", "broken"], retries=0)
    save("slow", ["stuck"], retries=0, timeout=60)
    save("loud", ["local-loud", "alpha"])
    return loopback


@pytest.mark.asyncio
async def test_an_agent_lists_consults_polls_and_cancels(consortiums, user_path, tmp_path, caplog):
    loopback = consortiums
    async with mcp_server(user_path, tmp_path) as (client, stderr):
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} == {"list_consortiums", "consult", "consult_result", "cancel"}
        assert all(t.description and "\n    " not in t.description for t in tools)  # written for a model, not indented
        listed, text = await call(client, "list_consortiums")
        panel = next(row for row in listed["consortiums"] if row["name"] == "panel")
        assert panel["members"] == ["alpha", "beta"] and panel["arbiter"] == "judge" and panel["typical_cost_usd"] is None
        assert "panel: alpha, beta; arbiter judge" in text

        # A quick consult: the whole result within wait_seconds, with progress notifications.
        heard: list[str] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            heard.append(message or "")

        done = await client.call_tool("consult", {"consortium": "panel", "prompt": "Capital of France?"}, progress_callback=progress)
        result = done.structured_content or {}
        assert (result["state"], result["status"], result["answer"], result["confidence"]) == ("done", "complete", "Paris", 0.9)
        assert result["dissent"] == ["Lyon, said one member"] and result["failed_members"] == []
        assert result["calls"] == 3 and result["input_tokens"] > 0 and result["cost_usd"] is None
        assert any("members answering" in line or "arbiter writing" in line for line in heard), heard
        assert "status complete, confidence 0.90" in done.content[0].text  # type: ignore[union-attr]
        # Logged like a prompt: `trace` shows the run by the id the result gave.
        assert "Paris" in ok("trace", result["run_id"]).stdout

        # A member fails: partial, naming it; the slowest members are often the strongest.
        shaky, text = await call(client, "consult", consortium="shaky", prompt="Capital of France?")
        assert shaky["status"] == "partial" and [f["member"] for f in shaky["failed_members"]] == ["broken"]
        assert "upstream exploded" in shaky["failed_members"][0]["error"]
        assert "status partial" in text and "often the slowest and strongest" in text

        # A member that prints to stdout as it loads: the protocol survives, the chatter goes to stderr.
        loud, _ = await call(client, "consult", consortium="loud", prompt="hello")
        assert loud["status"] == "complete" and loud["input_tokens"] is None  # local-loud reports no usage

        # Longer than wait_seconds: a job id at once, then polled to the end.
        started, text = await call(client, "consult", consortium="panel", prompt="Again?", wait_seconds=0)
        assert started["state"] == "running" and f"consult_result with job_id {started['job_id']!r}" in text
        polled, _ = await call(client, "consult_result", job_id=started["job_id"], wait_seconds=60)
        assert (polled["state"], polled["status"], polled["answer"]) == ("done", "complete", "Paris")

        # A run held by its member: cancelled while it waits; nothing more comes of it.
        held, _ = await call(client, "consult", consortium="slow", prompt="q", wait_seconds=0)
        await arrived(loopback, "stuck")
        gone, text = await call(client, "cancel", job_id=held["job_id"])
        assert gone["state"] == "cancelled" and "was cancelled" in text
        after, _ = await call(client, "consult_result", job_id=held["job_id"], wait_seconds=0)
        assert after["state"] == "cancelled"

        unknown = await client.call_tool("consult", {"consortium": "nope", "prompt": "q"})
        assert unknown.is_error and "No saved consortium named 'nope'" in unknown.content[0].text  # type: ignore[union-attr]
    assert all("tools" not in r.body for r in loopback.requests)  # no -T: members get no tools
    chatter = stderr.read_text()
    assert local_plugin.LOUD_CHATTER in chatter and f"{local_plugin.LOUD_CHATTER} (fd 1)" in chatter
    assert "Consortium shaky: partial: broken failed in round 1 (Error code: 500 - upstream exploded)" in chatter
    assert not [r for r in caplog.records if "Failed to parse" in r.getMessage()]  # stdout held only the protocol
    runs = json.loads(ok("runs", "--json").stdout)
    assert sorted(run["consortium"] for run in runs) == ["loud", "panel", "panel", "shaky"]  # not the cancelled one


@pytest.mark.asyncio
async def test_a_budget_stop_says_stopped(loopback, openai_models, user_path, tmp_path):
    tools = {"supports_tools": True}
    openai_models(["alpha", "beta", "judge"], alpha=tools, beta=tools)
    loopback.script("judge", reply(tagged_verdict("Draft", 0.3, needs_iteration=True)))
    for model in ("alpha", "beta", "judge"):
        ok("prices", "set", model, "1", "1")
    save("thrifty", ["alpha", "beta"])
    async with mcp_server(user_path, tmp_path, "-T", "llm_version") as (client, _):
        # Within round 1 the next call could pass $0.0006: the run stops before it, answering with the vote.
        result, text = await call(client, "consult", consortium="thrifty", prompt="q", max_usd=0.0006)
    assert (result["status"], result["answer"], result["rounds"]) == ("stopped", "alpha says: q", 1), result["error"]
    assert result["degraded"][0].startswith("budget: ") and result["cost_usd"] <= 0.0006
    assert "status stopped" in text
    # Started with -T: the members were given the tool (run without approval).
    assert [t["function"]["name"] for t in loopback.requests_for("alpha")[0].body["tools"]] == ["llm_version"]


@pytest.mark.asyncio
async def test_a_client_that_goes_away_mid_consult_cancels_the_run(consortiums, user_path, tmp_path):
    loopback = consortiums
    async with mcp_server(user_path, tmp_path) as (client, stderr):
        waiting = asyncio.ensure_future(client.call_tool("consult", {"consortium": "slow", "prompt": "q"}))
        await arrived(loopback, "stuck")
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    # The client closed the server's stdin and gave it 2 s before killing it: the line
    # is written only by a server that stopped its run and exited by itself.
    assert "the client went away; cancelled 1 running consult" in stderr.read_text()
    assert not (user_path / "logs.db").exists()  # the cancelled run left nothing


def test_without_the_sdk_the_command_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert "llm install 'mcp>=2.3,<3'" in refused("mcp")


def test_an_unknown_tool_is_refused_before_serving():
    assert refused("mcp", "-T", "no_such_tool").startswith("Error: Tool no_such_tool not found")

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
from importlib.metadata import version
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
    save("down", ["broken"], retries=0)
    return loopback


@pytest.mark.asyncio
async def test_an_agent_lists_consults_polls_and_cancels(consortiums, user_path, tmp_path, caplog):
    loopback = consortiums
    async with mcp_server(user_path, tmp_path) as (client, stderr):
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} == {"list_consortiums", "consult", "consult_result", "cancel"}
        assert all(t.description and "\n    " not in t.description for t in tools)  # written for a model, not indented
        # Clients see what a result holds: each tool publishes its schema, with the fields described.
        schemas = {t.name: t.output_schema or {} for t in tools}
        fields = schemas["consult"]["properties"]
        assert {"job_id", "state", "progress", "status", "answer", "failed_members", "calls", "cost_usd"} <= set(fields)
        assert "partial: some member failed" in fields["status"]["description"]
        assert schemas["consult_result"] == schemas["cancel"] == schemas["consult"]
        assert "typical_cost_usd" in str(schemas["list_consortiums"])
        assert client.server_info is not None and client.server_info.version == version("llm-consortium")
        listed, text = await call(client, "list_consortiums")
        panel = next(row for row in listed["consortiums"] if row["name"] == "panel")
        assert panel["members"] == ["alpha", "beta"] and panel["arbiter"] == "judge" and panel["typical_cost_usd"] is None
        assert "panel: alpha, beta; arbiter judge; arbiter; 1 tier; up to 3 rounds; cost unknown" in text

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

        # Every member fails: no answer, but what the run spent and who failed are still said.
        down, text = await call(client, "consult", consortium="down", prompt="Capital of France?")
        assert (down["status"], down["answer"], down["rounds"], down["calls"]) == ("failed", None, 1, 1)
        assert down["requests"] == 1 and (down["input_tokens"], down["output_tokens"]) == (0, 0)
        assert [f["member"] for f in down["failed_members"]] == ["broken"] and "upstream exploded" in down["error"]
        assert "Spent: 1 round, 1 call, 0 input + 0 output tokens, cost unknown" in text

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
async def test_consults_are_capped_and_cancelled_inside_the_transport_when_the_client_goes_away(
    consortiums, user_path, tmp_path
):
    loopback = consortiums
    most_running = 16  # the cap docs/agents.md states
    async with mcp_server(user_path, tmp_path) as (client, stderr):
        for _ in range(most_running):
            held, _ = await call(client, "consult", consortium="slow", prompt="q", wait_seconds=0)
            assert held["state"] == "running"
        await arrived(loopback, "stuck")
        refused = await client.call_tool("consult", {"consortium": "slow", "prompt": "q", "wait_seconds": 0})
        assert refused.is_error
        assert f"{most_running} consults already running on this server" in refused.content[0].text  # type: ignore[union-attr]
    # The client closed the server's stdin and gave it 2 s before killing it: the line
    # is written only by a server that stopped its runs and exited by itself.
    chatter = stderr.read_text()
    assert f"the client went away; cancelled {most_running} running consults" in chatter
    # Cancelled while the transport still held fd 1: the guard of a member's call found
    # stdio as the call began and blamed nobody (slow's member is an HTTP model).
    assert "file descriptor" not in chatter, chatter
    assert not (user_path / "logs.db").exists()  # the cancelled runs left nothing


@pytest.mark.asyncio
async def test_a_consult_call_cancelled_before_its_job_id_came_back_cancels_the_run(consortiums, user_path, tmp_path):
    loopback = consortiums
    async with mcp_server(user_path, tmp_path, "--status-tool") as (client, stderr):
        waiting = asyncio.ensure_future(client.call_tool("consult", {"consortium": "slow", "prompt": "q"}))
        await arrived(loopback, "stuck")
        waiting.cancel()  # the user pressed Esc: the client sends notifications/cancelled
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        status, _ = await call(client, "server_status")  # read after the cancel: the run was told to stop
        [job] = status["jobs"]
        assert (job["state"], job["consortium"], status["jobs_running"]) == ("cancelled", "slow", 0)
        # The run ends while its member still hangs: nobody waits on it any more.
        ended, _ = await call(client, "consult_result", job_id=job["job_id"], wait_seconds=60)
        assert ended["state"] == "cancelled"
    assert "cancelled" not in stderr.read_text()  # nothing was left running when the client went away
    assert not (user_path / "logs.db").exists()  # not logged


@pytest.mark.asyncio
async def test_server_tools_go_to_members_that_can_use_them(loopback, openai_models, user_path, tmp_path):
    openai_models(["alpha", "gamma", "judge"], alpha={"supports_tools": True})
    save("mixed", ["alpha", "gamma"])
    save("plain", ["gamma"])
    loopback.script("judge", reply(tagged_verdict("Fine", 0.9)))
    async with mcp_server(user_path, tmp_path, "-T", "llm_version") as (client, _):
        plain, _ = await call(client, "consult", consortium="plain", prompt="q")  # no member can use tools
        assert (plain["status"], plain["answer"]) == ("complete", "Fine"), plain["error"]
        mixed, _ = await call(client, "consult", consortium="mixed", prompt="q")
        assert (mixed["status"], mixed["answer"]) == ("complete", "Fine"), mixed["error"]
    offered = {r.model: [t["function"]["name"] for t in r.body.get("tools", [])] for r in loopback.requests}
    assert offered == {"gamma": [], "alpha": ["llm_version"], "judge": []}


async def raw_calls(user_path: Path, *arguments: str) -> list[dict[str, Any]]:
    """`consult` calls written by hand as raw JSON-RPC (JSON's own Infinity and NaN,
    which no SDK sends), one after the other, to a real server; their results."""
    process = await asyncio.create_subprocess_exec(
        LLM_BIN, "consortiums", "mcp", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=subprocess_env(user_path),
    )
    assert process.stdin is not None and process.stdout is not None
    initialize = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
    opening = [
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ]
    process.stdin.write(("\n".join(opening) + "\n").encode())
    results = []
    try:
        for number, given in enumerate(arguments, 1):
            call = '{"jsonrpc": "2.0", "id": %d, "method": "tools/call", "params": {"name": "consult", "arguments": '
            process.stdin.write(((call % number) + given + "}}\n").encode())
            await process.stdin.drain()
            while True:  # stdin stays open until the answer is in: EOF would stop the call
                message = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
                if message.get("id") == number:
                    results.append(message["result"])
                    break
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    return results


@pytest.mark.asyncio
async def test_a_budget_that_is_no_number_is_refused_in_one_line(loopback, openai_models, user_path, tmp_path):
    openai_models(["alpha", "judge"])
    save("panel", ["alpha"])
    given = {"Infinity": "inf", "NaN": "nan", "-1": "-1.0"}
    results = await raw_calls(user_path, *[f'{{"consortium": "panel", "prompt": "q", "max_usd": {raw}}}' for raw in given])
    for result, shown in zip(results, given.values(), strict=True):
        assert result["isError"], result
        assert result["content"][0]["text"] == (
            "Error executing tool consult: max_usd must be a finite number of USD, 0 or more "
            f"(omit it for no limit), got {shown}"
        )
    async with mcp_server(user_path, tmp_path) as (client, _):
        # The SDK's client writes a NaN as null: refused, not read as "no budget".
        nan = await client.call_tool("consult", {"consortium": "panel", "prompt": "q", "max_usd": float("nan")})
        assert nan.is_error and "max_usd must be a number of USD, got null" in nan.content[0].text  # type: ignore[union-attr]
        schema = next(t for t in (await client.list_tools()).tools if t.name == "consult").input_schema
        assert schema["properties"]["max_usd"]["type"] == "number"  # null is not offered
    assert not loopback.requests  # nothing was run


def test_without_the_sdk_the_command_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert "llm install 'mcp>=2.3,<3'" in refused("mcp")


def test_an_unknown_tool_is_refused_before_serving():
    assert refused("mcp", "-T", "no_such_tool").startswith("Error: Tool no_such_tool not found")

"""Members that use llm's tools, end to end: llm's real CLI and its real OpenAI
plugin against the loopback server, whose models ask for tool calls. The server's
request log proves what each member was given; a file the tools append to proves
how often each tool really ran."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import llm
import pytest
from llm.plugins import pm

from helpers import LLM_BIN, judge_saying, llm_run, save, subprocess_env
from loopback import reply, tool_calls, tool_results

TOOLS = {"supports_tools": True}

FUNCTIONS = '''
import pathlib

def lookup(city: str) -> str:
    """The weather in a city"""
    with pathlib.Path({log!r}).open("a") as f:
        f.write(city + "\\n")
    return "sunny in " + city

def broken() -> str:
    """Always fails"""
    raise RuntimeError("the tool broke")
'''


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["alpha", "beta", "judge", "plain"], alpha=TOOLS, beta=TOOLS, judge=TOOLS)
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("The consortium answer"))
    return "panel"


@pytest.fixture
def functions(tmp_path: Path) -> tuple[Path, Path]:
    """(a --functions file, the file its `lookup` appends each run's city to)."""
    log = tmp_path / "runs.txt"
    path = tmp_path / "tools.py"
    path.write_text(FUNCTIONS.format(log=str(log)))
    return path, log


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def ask(*calls: tuple[str, dict], answer: str = "done"):
    """A member's script: ask for `calls`, then answer."""
    return tool_calls(*calls), reply(answer)


def logged() -> list[dict]:
    result = llm_run("logs", "--json", "-n", "0")
    return list(reversed(json.loads(result.stdout)))


def trace_members(entry: dict) -> list[dict]:
    return entry["response_json"]["rounds"][0]["members"]


def test_llm_version_each_member_gets_the_result_and_llm_runs_nothing_again(panel, loopback):
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {})))
    result = llm_run("-m", panel, "-T", "llm_version", "Which llm version?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    assert result.stderr == ""
    for name in ("alpha", "beta"):
        first, second = loopback.requests_for(name)
        assert [t["function"]["name"] for t in first.body["tools"]] == ["llm_version"]
        assert tool_results(second) == [version("llm")]
    assert "tools" not in loopback.requests_for("judge")[0].body  # the arbiter gets none
    # llm recorded the calls as already executed: one logged turn, no second one.
    entries = logged()
    assert len(entries) == 1
    calls = entries[0]["tool_calls"]
    assert [c["name"] for c in calls] == ["llm_version", "llm_version"]
    assert all(c["server_executed"] for c in calls)
    assert [r["output"] for r in entries[0]["tool_results"]] == [version("llm")] * 2


def test_continue_after_tools_replays_nothing(panel, loopback):
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {})))
    assert llm_run("-m", panel, "-T", "llm_version", "Which version?").exit_code == 0
    loopback.reset()
    loopback.script("judge", judge_saying("Second answer"))
    result = llm_run("-c", "And then?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Second answer\n"
    for name in ("alpha", "beta"):
        (request,) = loopback.requests_for(name)  # llm keeps plugin tools on -c
        assert not any(m.get("role") == "tool" or m.get("tool_calls") for m in request.messages)
    text = llm_run("logs", "-n", "2").stdout
    assert "llm_version" in text


def test_functions_file_identical_calls_run_once(panel, loopback, functions):
    path, log = functions
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("lookup", {"city": "Paris"})))
    result = llm_run("-m", panel, "--functions", str(path), "Weather in Paris?")
    assert result.exit_code == 0, result.output
    assert runs(log) == ["Paris"]
    for name in ("alpha", "beta"):
        assert tool_results(loopback.requests_for(name)[1]) == ["sunny in Paris"]
    (entry,) = logged()
    assert len(entry["tool_calls"]) == 2
    # The trace shows who ran it and who shared its result, with the duration.
    records = [m["tool_calls"][0] for m in trace_members(entry)]
    assert sorted(r["shared"] for r in records) == [False, True]
    assert all(r["name"] == "lookup" and r["output"] == "sunny in Paris" for r in records)
    assert all(isinstance(r["duration_ms"], int) for r in records)
    # The arbiter saw each answer's evidence, fenced like the answers.
    judge_prompt = loopback.requests_for("judge")[0].messages[-1]["content"]
    assert judge_prompt.count("<<<TOOL CALLS ") == 2
    assert judge_prompt.count('- lookup({"city": "Paris"})\n  sunny in Paris') == 2


def test_identical_calls_are_shared_within_a_round_only(loopback, openai_models, functions):
    openai_models(["alpha", "beta", "judge"], alpha=TOOLS, beta=TOOLS)
    save("panel", ["alpha", "beta"], min_iterations=2, max_iterations=2, skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("ok"))
    path, log = functions
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("lookup", {"city": "Paris"})), *ask(("lookup", {"city": "Paris"})))
    assert llm_run("-m", "panel", "--functions", str(path), "Paris?").exit_code == 0
    assert runs(log) == ["Paris", "Paris"]  # once in each round
    assert len(loopback.requests_for("alpha")) == 4


def test_sharing_can_be_turned_off(loopback, openai_models, functions):
    openai_models(["alpha", "beta", "judge"], alpha=TOOLS, beta=TOOLS)
    save("panel", ["alpha", "beta"], tools={"unshared": ["lookup"]}, skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("ok"))
    path, log = functions
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("lookup", {"city": "Rome"})))
    assert llm_run("-m", "panel", "--functions", str(path), "Rome?").exit_code == 0
    assert runs(log) == ["Rome", "Rome"]


def test_a_tool_that_raises_gives_the_member_an_error_result(panel, loopback, functions):
    path, _ = functions
    loopback.script("alpha", *ask(("broken", {})))
    loopback.script("beta", reply("no tools needed"))
    result = llm_run("-m", panel, "--functions", str(path), "Try it")
    assert result.exit_code == 0, result.output
    assert tool_results(loopback.requests_for("alpha")[1]) == ["Error: the tool broke"]
    (entry,) = logged()
    assert entry["tool_results"][0]["output"] == "Error: RuntimeError: the tool broke"


def test_approval_yes_and_no_reach_only_the_member_asking(panel, loopback, functions, user_path):
    path, log = functions
    loopback.script("alpha", *ask(("lookup", {"city": "Oslo"})))
    loopback.script("beta", *ask(("lookup", {"city": "Lima"})))
    # A terminal on stdin, as a user answering --ta has (llm reads a piped stdin as
    # the prompt); the answers wait in it before llm starts.
    master, slave = os.openpty()
    try:
        os.write(master, b"y\nn\n")
        result = subprocess.run(
            [LLM_BIN, "-m", panel, "--functions", str(path), "--ta", "Weather?"],
            stdin=slave, capture_output=True, text=True, env=subprocess_env(user_path), timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("The consortium answer\n")
    assert len(runs(log)) == 1  # one approved, one refused
    got = {name: tool_results(loopback.requests_for(name)[1])[0] for name in ("alpha", "beta")}
    assert sorted(got.values(), key=lambda t: t.startswith("Cancelled")) == [
        f"sunny in {runs(log)[0]}", "Cancelled: User cancelled tool call"
    ]
    assert result.stdout.count("Approve tool call?") == 2  # llm's own prompt, on stdout
    # Each prompt names its member, and they never interleave: header, then its call.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 4, result.stderr
    for header, call in zip(lines[::2], lines[1::2], strict=True):
        name = header.removeprefix("Consortium member ").rstrip(":")
        city = {"alpha": "Oslo", "beta": "Lima"}[name]
        assert call == f"Tool call: lookup({{'city': '{city}'}})"


def test_tools_debug_shows_every_members_call(panel, loopback):
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {})))
    result = llm_run("-m", panel, "-T", "llm_version", "--td", "Version?")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Tool call: llm_version({})") == 2
    assert "Consortium member alpha:" in result.stderr and "Consortium member beta:" in result.stderr


def test_chain_limit_fails_that_member_only(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"], alpha=TOOLS, beta=TOOLS)
    save("panel", ["alpha", "beta"], tools={"chain_limit": 2}, skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("ok"))
    loopback.script("alpha", tool_calls(("llm_version", {})))  # asks forever
    loopback.script("beta", reply("plain answer"))
    result = llm_run("-m", "panel", "-T", "llm_version", "Version?")
    assert result.exit_code == 0, result.output
    assert len(loopback.requests_for("alpha")) == 2
    alpha, beta = trace_members(logged()[0])
    assert "chain limit of 2" in alpha["error"]
    assert beta["text"] == "plain answer"


def test_member_without_tool_support_answers_without_them(loopback, openai_models):
    openai_models(["alpha", "plain", "judge"], alpha=TOOLS)
    save("panel", ["alpha", "plain"], skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("ok"))
    loopback.script("alpha", *ask(("llm_version", {})))
    result = llm_run("-m", "panel", "-T", "llm_version", "Version?")
    assert result.exit_code == 0, result.output
    (plain,) = loopback.requests_for("plain")
    assert "tools" not in plain.body
    notes = logged()[0]["response_json"]["notes"]
    assert any("without the tools" in n and "plain" in n for n in notes)


def test_no_member_with_tools_is_refused_before_any_call(loopback, openai_models):
    openai_models(["plain", "judge"])
    save("panel", ["plain"])
    result = llm_run("-m", "panel", "-T", "llm_version", "Version?")
    assert result.exit_code != 0
    assert "no member supports tools (plain)" in result.output
    assert loopback.requests == []


class Counter(llm.Toolbox):
    """A toolbox whose state shows one instance served every member."""

    def __init__(self) -> None:
        self.count = 0

    def increment(self) -> int:
        """Add one"""
        self.count += 1
        return self.count


class _ToolPlugin:
    @llm.hookimpl
    def register_tools(self, register):
        register(Counter)


@pytest.fixture
def toolbox_plugin():
    pm.register(_ToolPlugin(), name="consortium-test-tools")
    try:
        yield
    finally:
        pm.unregister(name="consortium-test-tools")


def test_toolbox_from_a_plugin(panel, loopback, toolbox_plugin):
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("Counter_increment", {})))
    result = llm_run("-m", panel, "-T", "Counter", "Count")
    assert result.exit_code == 0, result.output
    # One identical call in the round: it ran once, both members got its result.
    assert [tool_results(loopback.requests_for(n)[1]) for n in ("alpha", "beta")] == [["1"], ["1"]]


def test_nested_consortium_members_use_the_tools(loopback, openai_models, functions):
    openai_models(["alpha", "beta", "judge", "inner-judge"], alpha=TOOLS, beta=TOOLS)
    save("inner", ["alpha"], arbiter="inner-judge")
    save("outer", ["inner", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("inner-judge", judge_saying("inner answer"))
    loopback.script("judge", judge_saying("outer answer"))
    path, log = functions
    loopback.script("alpha", *ask(("lookup", {"city": "Kyiv"})))
    loopback.script("beta", *ask(("lookup", {"city": "Quito"})))
    result = llm_run("-m", "outer", "--functions", str(path), "Weather?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "outer answer\n"
    assert sorted(runs(log)) == ["Kyiv", "Quito"]
    assert tool_results(loopback.requests_for("alpha")[1]) == ["sunny in Kyiv"]
    (entry,) = logged()
    assert sorted(c["arguments"]["city"] for c in entry["tool_calls"]) == ["Kyiv", "Quito"]


def test_trace_runs_and_html_show_the_tool_calls(panel, loopback, functions, tmp_path):
    path, _ = functions
    loopback.script("alpha", *ask(("lookup", {"city": "Paris"})))
    loopback.script("beta", *ask(("broken", {})))
    assert llm_run("-m", panel, "--functions", str(path), "Weather?").exit_code == 0
    text = llm_run("consortiums", "trace").stdout
    assert 'tool lookup({"city": "Paris"})' in text and "-> sunny in Paris" in text
    assert "tool broken({}) " in text and "-> error: RuntimeError: the tool broke" in text
    (row,) = json.loads(llm_run("consortiums", "runs", "--json").stdout)
    assert row["tool_calls"] == 2
    assert "TOOL CALLS" in llm_run("consortiums", "runs").stdout
    page = tmp_path / "trace.html"
    assert llm_run("consortiums", "trace", "--html", str(page)).exit_code == 0
    assert "lookup({&quot;city&quot;: &quot;Paris&quot;})" in page.read_text()


def test_async_cli_with_tools_and_debug(panel, loopback):
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {})))
    result = llm_run("-m", panel, "--async", "-T", "llm_version", "--td", "Version?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    assert result.stderr.count("Tool call: llm_version({})") == 2
    for name in ("alpha", "beta"):
        assert tool_results(loopback.requests_for(name)[1]) == [version("llm")]

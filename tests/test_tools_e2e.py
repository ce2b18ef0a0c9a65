"""Members that use llm's tools, end to end: llm's real CLI and its real OpenAI
plugin against the loopback server, whose models ask for tool calls."""

from __future__ import annotations

import json

import llm
import pytest

from helpers import judge_saying, llm_run, save
from loopback import reply, tool_calls, tool_results

TOOLS = {"supports_tools": True}


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["alpha", "beta", "judge", "plain"], alpha=TOOLS, beta=TOOLS, judge=TOOLS)
    save("panel", ["alpha", "beta"])
    loopback.script("judge", judge_saying("The consortium answer"))
    return "panel"


def test_llm_version_tool_each_member_gets_its_result(panel, loopback):
    for name in ("alpha", "beta"):
        loopback.script(name, tool_calls(("llm_version", {})), reply(f"{name}: version seen"))
    result = llm_run("-m", panel, "-T", "llm_version", "Which llm version?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    for name in ("alpha", "beta"):
        requests = loopback.requests_for(name)
        assert len(requests) == 2
        assert requests[0].body["tools"][0]["function"]["name"] == "llm_version"
        assert tool_results(requests[1]) == [llm.__version__ if hasattr(llm, "__version__") else tool_results(requests[1])[0]]
    judge = loopback.requests_for("judge")
    assert "tools" not in judge[0].body

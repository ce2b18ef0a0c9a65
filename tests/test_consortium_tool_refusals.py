"""`-T 'Consortium(...)'` refused before any call, in one line: a tool that would start a
consortium already running in this run (the consortium itself, or a nested member
consortium that gets the tools too), and a spec without a consortium's name."""

from __future__ import annotations

import pytest

from helpers import llm_run, save, verdict
from loopback import reply


def test_a_tool_that_starts_a_nested_member_again_is_refused_before_any_call(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"], alpha={"supports_tools": True})
    save("meta", ["alpha"])  # its member uses tools: it would call Consortium("meta") inside meta
    save("outer2", ["meta", "beta"])
    result = llm_run("-m", "outer2", "-T", 'Consortium("meta")', "q")
    assert result.exit_code == 1
    assert result.stderr == "Error: Consortium cycle through the Consortium_ask tool: outer2 -> meta -> meta\n"
    assert result.stdout == "" and loopback.requests == []


def test_a_tool_for_an_unrelated_consortium_still_runs(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"], alpha={"supports_tools": True})
    save("meta", ["alpha"])
    save("outer2", ["meta", "beta"])
    save("other", ["beta"])
    loopback.script("alpha", reply("4"))
    loopback.script("beta", reply("4"))
    loopback.script("judge", reply(verdict("4", 0.9)))
    result = llm_run("-m", "outer2", "-T", 'Consortium("other")', "2+2?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "4\n"


@pytest.mark.parametrize(
    "spec, said",
    [
        ("Consortium()", "Consortium needs the name of a consortium"),
        ("Consortium", "Consortium needs the name of a consortium"),
        ('Consortium(nme="panel")', "Consortium takes no 'nme' argument"),
        ("Consortium(5)", "Consortium needs the name of a consortium"),
    ],
)
def test_a_spec_without_a_name_is_one_error_line_not_a_traceback(loopback, openai_models, spec, said):
    openai_models(["tooler"], tooler={"supports_tools": True})
    result = llm_run("-m", "tooler", "-T", spec, "q")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == f"Error: {said}: -T 'Consortium(\"NAME\")' names one saved consortium (llm consortiums list shows them)\n"
    assert loopback.requests == []

"""`Consortium("panel")`: a tool-using model consults a saved consortium through llm's
real CLI (`llm -m MODEL -T 'Consortium("panel")'`), the loopback server scripting the
model's call to the toolbox method and reading the result back."""

from __future__ import annotations

import json

from helpers import llm_run, save
from loopback import reply, tagged_verdict, tool_calls, tool_results


def test_a_model_asks_the_panel_mid_answer_and_both_turns_are_logged(loopback, openai_models):
    openai_models(["agent", "alpha", "beta", "judge"], agent={"supports_tools": True})
    loopback.script("agent", tool_calls(("Consortium_ask", {"question": "Should we migrate to Postgres?"})),
                    reply(lambda body: "Relayed: " + body["messages"][-1]["content"]))
    loopback.script("alpha", reply("Yes: Postgres fits."))
    loopback.script("beta", reply("No: stay on SQLite."))
    loopback.script("judge", reply(tagged_verdict("Yes, migrate.", 0.85)))
    save("panel", ["alpha", "beta"])
    result = llm_run("-m", "agent", "-T", 'Consortium("panel")', "Should we migrate?")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    (seen,) = tool_results(loopback.requests_for("agent")[1])
    assert seen.startswith("Consortium 'panel': status complete, confidence 0.85\nAnswer:\nYes, migrate.")
    assert "Run: " in seen and "llm consortiums trace" in seen
    assert result.stdout.startswith("Relayed: Consortium 'panel': status complete")
    # The panel was asked the model's question, and llm's logs hold both turns.
    assert "Should we migrate to Postgres?" in json.dumps(loopback.requests_for("alpha")[0].messages)
    logged = json.loads(llm_run("logs", "-n", "0", "--json").stdout)
    assert sorted(row["model"] for row in logged) == ["agent", "agent", "panel"]
    panel_turn = next(row for row in logged if row["model"] == "panel")
    assert panel_turn["response_json"]["status"] == "complete" and panel_turn["prompt"] == "Should we migrate to Postgres?"


def test_a_consortium_given_a_tool_that_leads_back_to_itself_is_refused_before_any_call(loopback, openai_models):
    openai_models(["alpha", "judge"], alpha={"supports_tools": True})
    save("panel", ["alpha"])
    save("outer", ["panel"])  # outer -> panel: a Consortium("outer") tool given to panel loops back
    for model, tool in (("panel", "panel"), ("panel", "outer")):
        result = llm_run("-m", model, "-T", f'Consortium("{tool}")', "q")
        assert result.exit_code == 1
        assert "Error: Consortium cycle through the Consortium_ask tool: panel -> " in result.stderr
    assert loopback.requests == []


def test_an_unknown_consortium_is_refused_in_one_line(loopback, openai_models):
    openai_models(["agent"], agent={"supports_tools": True})
    result = llm_run("-m", "agent", "-T", 'Consortium("nope")', "q")
    assert result.exit_code != 0 and "No saved consortium named 'nope'" in result.output
    assert "Traceback" not in result.output and loopback.requests == []

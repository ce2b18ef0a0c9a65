"""A consortium used the ways an `llm` user uses a model: llm's real CLI, its real
OpenAI plugin, and the loopback OpenAI-compatible server the suite starts."""

from __future__ import annotations

import asyncio
import json

import llm
import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig

from helpers import judge_saying, llm_run, llm_subprocess, save, verdict
from loopback import FAST_RETRY, error, last_user_text, reply


@pytest.fixture
def consortium(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    save("my-consortium", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("judge", judge_saying("The consortium answer"))
    return "my-consortium"


def logged_responses() -> list[dict]:
    """Every logged turn, oldest first, as `llm logs --json` reports it."""
    result = llm_run("logs", "--json", "-n", "0")
    return list(reversed(json.loads(result.stdout))) if result.stdout.strip() else []


def test_prompt_prints_only_the_final_answer(consortium, loopback):
    result = llm_run("-m", consortium, "What is 2+2?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    for name in ("alpha", "beta"):
        assert last_user_text(loopback.requests_for(name)[0]) == "What is 2+2?"
    arbiter_prompt = last_user_text(loopback.requests_for("judge")[0])
    assert "alpha says: What is 2+2?" in arbiter_prompt
    assert "beta says: What is 2+2?" in arbiter_prompt


def test_models_list_shows_the_consortium(consortium):
    result = llm_run("models")
    assert "Consortium: my-consortium (members alpha, beta; arbiter judge" in result.stdout


def test_system_prompt_reaches_members_and_arbiter(consortium, loopback):
    result = llm_run("-m", consortium, "-s", "Answer in French", "hi")
    assert result.exit_code == 0, result.output
    for name in ("alpha", "beta", "judge"):
        messages = loopback.requests_for(name)[0].messages
        assert messages[0] == {"role": "system", "content": "Answer in French"}


def test_continue_carries_the_whole_conversation(consortium, loopback, user_path):
    assert llm_run("-m", consortium, "-s", "Be terse", "first question").exit_code == 0
    loopback.reset()
    loopback.script("judge", judge_saying("second answer"))
    result = llm_run("-c", "second question")
    assert result.exit_code == 0, result.output
    assert result.stdout == "second answer\n"
    messages = loopback.requests_for("alpha")[0].messages
    assert [(m["role"], m["content"]) for m in messages] == [
        ("system", "Be terse"),
        ("user", "first question"),
        ("assistant", "The consortium answer"),
        ("user", "second question"),
    ]
    assert "first question" in last_user_text(loopback.requests_for("judge")[0])
    rows = logged_responses()
    assert [row["model"] for row in rows] == [consortium, consortium]
    assert rows[0]["conversation_id"] == rows[1]["conversation_id"]


def test_chat_keeps_history_between_turns(consortium, loopback):
    result = llm_run("chat", "-m", consortium, input="hello there\nand again\nquit\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("The consortium answer") == 2
    second_turn = loopback.requests_for("beta")[1].messages
    assert [m["content"] for m in second_turn] == ["hello there", "The consortium answer", "and again"]


def test_async_cli(consortium, loopback):
    result = llm_run("-m", consortium, "--async", "async question")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    assert len(loopback.requests_for("alpha")) == 1


def test_option_max_iterations_overrides_the_saved_value(consortium, loopback):
    loopback.script("judge", judge_saying("unsure", confidence=0.1))
    result = llm_run("-m", consortium, "-o", "max_iterations", "1", "q")
    assert result.exit_code == 0, result.output
    assert len(loopback.requests_for("judge")) == 1
    loopback.reset()
    loopback.script("judge", judge_saying("unsure", confidence=0.1))
    assert llm_run("-m", consortium, "q").exit_code == 0
    assert len(loopback.requests_for("judge")) == 3


def test_bad_option_value_is_llms_validation_error(consortium, loopback):
    result = CliRunner().invoke(cli, ["-m", consortium, "-o", "confidence_threshold", "7", "q"])
    assert result.exit_code != 0
    assert "confidence_threshold" in result.output and "Traceback" not in result.output
    assert loopback.requests == []


def test_usage_is_the_sum_of_every_call(consortium, loopback):
    loopback.script("alpha", reply("four", prompt_tokens=11, completion_tokens=3))
    loopback.script("beta", reply("4", prompt_tokens=13, completion_tokens=5))
    loopback.script("judge", reply(verdict("It is 4", 0.9), prompt_tokens=100, completion_tokens=20))
    result = llm_run("-m", consortium, "-u", "count")
    assert result.exit_code == 0, result.output
    assert len(loopback.requests) == 3
    usage_line = result.stderr.strip().splitlines()[-1]
    per_model = {
        "alpha": {"calls": 1, "requests": 1, "input": 11, "output": 3},
        "beta": {"calls": 1, "requests": 1, "input": 13, "output": 5},
        "judge": {"calls": 1, "requests": 1, "input": 100, "output": 20},
    }
    prefix = "Token usage: 124 input, 28 output, "
    assert usage_line.startswith(prefix)
    assert json.loads(usage_line[len(prefix):]) == {"models": per_model, "status": "complete"}
    row = logged_responses()[0]
    assert (row["input_tokens"], row["output_tokens"]) == (124, 28)


def test_logs_hold_the_trace_and_no_member_turns(consortium, loopback, user_path):
    assert llm_run("-m", consortium, "traced").exit_code == 0
    rows = logged_responses()
    assert len(rows) == 1 and rows[0]["model"] == consortium
    trace = rows[0]["response_json"]
    assert trace["consortium"] == consortium
    assert trace["final_round"] == 1
    members = trace["rounds"][0]["members"]
    assert sorted(m["model"] for m in members) == ["alpha", "beta"]
    assert all(m["text"].endswith("says: traced") for m in members)
    assert trace["rounds"][0]["arbiter"]["confidence"] == 0.9
    assert rows[0]["input_tokens"] == trace["usage"]["input"] > 0
    logs = llm_run("logs", "--json", "-n", "1")
    assert json.loads(logs.stdout)[0]["response_json"]["consortium"] == consortium


def test_member_http_500_is_survived(consortium, loopback):
    loopback.script("beta", error(500, "internal error", FAST_RETRY))
    result = llm_run("-m", consortium, "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "The consortium answer\n"
    arbiter_prompt = last_user_text(loopback.requests_for("judge")[0])
    assert "alpha says: q" in arbiter_prompt and "500" in arbiter_prompt


def test_all_members_failing_is_one_clear_error(consortium, loopback, user_path):
    loopback.script("alpha", error(400, "model overloaded"))
    loopback.script("beta", error(400, "bad request"))
    result = CliRunner().invoke(cli, ["-m", consortium, "q"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "alpha" in lines[0] and "beta" in lines[0] and "overloaded" in lines[0]
    assert result.stdout == ""
    assert not (user_path / "logs.db").exists() or logged_responses() == []


def test_alias_works(consortium, loopback):
    assert llm_run("aliases", "set", "council", consortium).exit_code == 0
    result = llm_run("-m", "council", "via alias")
    assert result.stdout == "The consortium answer\n"


def test_python_api_sync_and_async(consortium, loopback):
    model = llm.get_model(consortium)
    response = model.prompt("python?")
    assert response.text() == "The consortium answer"
    assert response.response_json["consortium"] == consortium

    async def ask():
        return await llm.get_async_model(consortium).prompt("async python?").text()

    assert asyncio.run(ask()) == "The consortium answer"


def test_sync_api_inside_a_running_event_loop(consortium, loopback):
    async def notebook_cell():
        return llm.get_model(consortium).prompt("from a notebook").text()

    assert asyncio.run(notebook_cell()) == "The consortium answer"


def test_members_with_options_and_instances(loopback, openai_models):
    openai_models(["alpha", "judge"])
    store.save(
        ConsortiumConfig(
            name="tuned",
            models=[{"model_id": "alpha", "count": 3, "options": {"temperature": 0.25}}],
            arbiter={"model_id": "judge", "options": {"temperature": 0}},
            skip_arbiter_on_agreement=False,
        )
    )
    loopback.script("judge", judge_saying("tuned answer"))
    assert llm.get_model("tuned").prompt("q").text() == "tuned answer"
    alpha_calls = loopback.requests_for("alpha")
    assert len(alpha_calls) == 3
    assert all(call.body["temperature"] == 0.25 for call in alpha_calls)
    assert loopback.requests_for("judge")[0].body["temperature"] == 0


def test_self_referencing_consortium_is_refused(loopback, openai_models):
    openai_models(["alpha"])
    save("loop", ["alpha", "loop"], arbiter=None)
    with pytest.raises(llm.ModelError, match=r"lists itself \('loop'\) as a member: it would call itself"):
        llm.get_model("loop").prompt("q").text()


def test_real_subprocess_stdout_is_only_the_answer(consortium, loopback, user_path):
    done = llm_subprocess(user_path, "-m", consortium, "subprocess question")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The consortium answer\n"
    assert done.stderr == ""
    loopback.script("alpha", error(400, "nope"))
    loopback.script("beta", error(400, "nope"))
    failed = llm_subprocess(user_path, "-m", consortium, "q")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert failed.stderr.startswith("Error: ") and failed.stdout == ""

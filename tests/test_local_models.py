"""Real sessions and real plugins: `llm chat` and repeated sync prompts print nothing
but the answers, and sync-only local-engine models (tests/local_plugin.py) never lose
the consortium's answer, never see two calls at once, and never overlap a call that
was given up on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import traceback
from pathlib import Path

import llm
import local_plugin
import pytest
import yaml
from llm.plugins import pm

from helpers import judge_saying, llm_run, llm_subprocess, ok, refused, registered, save, subprocess_env
from loopback import NO_RETRY, LoopbackServer, error, write_models_file

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def local(user_path):
    """The local-engine test plugin, registered in this process; its models load
    their engine (and swap stdio) on every call."""
    with registered(local_plugin.LocalPlugin(local_plugin.local_models(reload=True)), "local-plugin") as plugin:
        local_plugin.OVERLAPS.clear()
        yield plugin


@pytest.fixture
def installed(tmp_path):
    """Environment for an `llm` subprocess that loads the test plugin as an installed
    entry point, and the file where overlapping calls are recorded."""
    site = local_plugin.entry_point_dir(tmp_path / "site")
    overlaps = tmp_path / "overlaps.txt"
    path = os.pathsep.join(filter(None, [str(site), str(TESTS), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, local_plugin.ENV_OVERLAPS: str(overlaps)}, overlaps


def last_trace() -> dict:
    rows = json.loads(llm_run("logs", "--json", "-n", "1").stdout)
    return rows[0]["response_json"]


def run_python(user_path: Path, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, env=subprocess_env(user_path), timeout=120,
    )


# ---------------------------------------------------------------- sessions


@pytest.fixture
def panel(user_path):
    """Consortium `panel` of two loopback OpenAI members and an arbiter, served with
    HTTP keep-alive as real providers do: the members' async clients keep pooled
    connections, which is what makes a client closed on the wrong loop fail loudly."""
    with LoopbackServer(keep_alive=True) as server:
        write_models_file(user_path, server.url, ["alpha", "beta", "judge"])
        save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
        server.script("judge", judge_saying("The panel answer"))
        yield server


def test_llm_chat_for_three_turns_prints_nothing_on_stderr(panel, user_path):
    done = llm_subprocess(user_path, "chat", "-m", "panel", stdin="one\ntwo\nthree\nquit\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("The panel answer") == 3
    assert done.stderr == ""


THREE_PROMPTS = """
import llm
model = llm.get_model("panel")
for question in ("a", "b", "c"):
    print(model.prompt(question).text())
"""

THREE_PROMPTS_IN_A_LOOP = """
import asyncio, llm

async def cell():
    model = llm.get_model("panel")
    return [model.prompt(q).text() for q in ("a", "b", "c")]

print("\\n".join(asyncio.run(cell())))
"""


@pytest.mark.parametrize("script", [THREE_PROMPTS, THREE_PROMPTS_IN_A_LOOP], ids=["plain", "in-a-loop"])
def test_three_sync_prompts_in_one_process_print_nothing_on_stderr(script, panel, user_path):
    done = run_python(user_path, script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The panel answer\n" * 3
    assert done.stderr == ""


# ---------------------------------------------------------------- local engines

ANSWER = local_plugin.ANSWER


def test_a_sync_only_model_asked_three_times_never_sees_two_calls_at_once(local):
    save("trio", [{"model_id": "local", "count": 3}], arbiter=None)
    for _ in range(15):
        result = llm_run("-m", "trio", "q")
        assert result.exit_code == 0, result.output
        assert result.stdout == ANSWER + "\n"
        assert result.stderr == ""
    assert local_plugin.OVERLAPS == []
    assert [m["text"] for m in last_trace()["rounds"][0]["members"]] == [ANSWER] * 3


def test_local_members_with_an_arbiter_and_loopback_members(local, loopback, openai_models):
    openai_models(["alpha", "judge"])
    loopback.script("judge", judge_saying("The judged answer"))
    save("mixed", [{"model_id": "local", "count": 3}, {"model_id": "local-fd", "count": 2}, "alpha"])
    for _ in range(10):
        result = llm_run("-m", "mixed", "q")
        assert result.exit_code == 0, result.output
        assert result.stdout == "The judged answer\n"
        assert result.stderr == ""
    assert local_plugin.OVERLAPS == []
    members = last_trace()["rounds"][0]["members"]
    assert [m.get("text") for m in members] == [ANSWER] * 5 + ["alpha says: q"]
    # A local engine reports no usage: counted as unknown, not as zero tokens.
    assert members[0]["usage"] == {"input": None, "output": None}


def test_calls_allowed_to_overlap_on_a_model_that_swaps_stdio_never_lose_the_answer(local, caplog):
    """`max_concurrent: 3` on a model whose loads swap sys.stdout: three loads race,
    one may put back another's /dev/null; the guard puts stdout back every time."""
    save("racy", [{"model_id": "local-racy", "count": 3, "max_concurrent": 3}], arbiter=None)
    for _ in range(20):
        result = llm_run("-m", "racy", "q")
        assert result.exit_code == 0, result.output
        assert result.stdout == ANSWER + "\n"
    for record in caplog.records:  # a race that happened is named, nothing else
        assert "member local-racy" in record.getMessage()


def test_a_member_whose_context_window_is_too_small_fails_alone(local, loopback, openai_models):
    openai_models(["alpha", "judge"])
    loopback.script("judge", judge_saying("The judged answer"))
    save("small", ["local-small", "alpha"])
    long_prompt = " ".join(["word"] * 60)
    result = llm_run("-m", "small", long_prompt)
    assert result.exit_code == 0, result.output
    assert result.stdout == "The judged answer\n"
    members = {m["model"]: m for m in last_trace()["rounds"][0]["members"]}
    assert "exceed context window of 40" in members["local-small"]["error"]
    assert members["alpha"]["text"].startswith("alpha says")


def test_a_timed_out_sync_call_keeps_the_model_until_its_thread_ends(loopback, openai_models, user_path):
    """Round 1: the local call hangs past the timeout and is abandoned; its thread
    still runs on the model. Round 2's call to the model waits for that thread (no
    overlap), then answers. The trace says the first call was abandoned."""
    from llm_consortium import engine
    from llm_consortium.adapter import loop, participants
    from llm_consortium.saved import store
    from llm_consortium.types import Call

    hold = threading.Event()
    model = local_plugin.LocalModel("local-held", hold=hold)
    pm.register(local_plugin.LocalPlugin([model]), name="local-held")
    local_plugin.OVERLAPS.clear()
    try:
        openai_models(["alpha", "judge"])
        loopback.script(
            "judge", judge_saying("unsure", confidence=0.1), judge_saying("The judged answer")
        )
        save("held", ["local-held", "alpha"], max_iterations=2, timeout=1)
        config = store.load("held")
        members, arbiter = participants.resolve(config)

        def progress(event):
            if event.kind == "round_done" and event.round == 1:
                hold.set()  # the abandoned call's thread may end now

        result = loop.run_sync(
            lambda: engine.run(
                Call("q"), members, arbiter, models_settings(config), progress=progress
            )
        )
    finally:
        hold.set()
        pm.unregister(name="local-held")
    first, second = ({m["model"]: m for m in r["members"]} for r in result.rounds)
    assert "timed out" in first["local-held"]["error"]
    assert "abandoned" in json.dumps(first["local-held"])
    assert second["local-held"]["text"] == ANSWER
    assert local_plugin.OVERLAPS == []
    assert model.calls == 2


def models_settings(config):
    from llm_consortium.adapter.models import ConsortiumOptions, settings_for

    return settings_for(config, ConsortiumOptions())


# ------------------------------------------------------ as an installed plugin


def test_an_installed_sync_only_plugin_through_the_real_llm_cli(installed, loopback, openai_models, user_path):
    env, overlaps = installed
    openai_models(["alpha", "judge"])
    loopback.script("judge", judge_saying("The judged answer"))
    save("vote3", [{"model_id": "local", "count": 3}], arbiter=None)
    save("fds", [{"model_id": "local-fd", "count": 3}, "alpha"])
    for name, answer in (("vote3", ANSWER), ("fds", "The judged answer"), ("vote3", ANSWER)):
        done = llm_subprocess(user_path, "-m", name, "q", **env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == answer + "\n"
        assert done.stderr == ""
    assert not overlaps.exists()
    save("leaky", [{"model_id": "local-leaky", "count": 2}], arbiter=None)
    done = llm_subprocess(user_path, "-m", "leaky", "q", **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER + "\n"
    assert done.stderr == (
        "Consortium: member local-leaky left sys.stdout and sys.stderr redirected; "
        "put back so the answer is not lost\n"
    )


# ---------------------------------------------------------------- call modes


def _implementation(request) -> str:
    """Which of the OpenAI plugin's implementations sent a request: its client
    stamps `x-stainless-async` ("false" from the sync client)."""
    return "sync" if request.headers.get("x-stainless-async") == "false" else "async"


def test_call_mode_auto_uses_the_sync_implementation_and_async_can_be_forced(loopback, openai_models):
    openai_models(["alpha", "judge"])
    loopback.script("judge", judge_saying("The judged answer"))
    save("modes", ["alpha"])
    save("forced", ["alpha"], call_mode="async")
    for args, expected in (
        (("-m", "modes", "q"), "sync"),
        (("-m", "modes", "-o", "call_mode", "async", "q"), "async"),
        (("-m", "forced", "q"), "async"),
        (("-m", "forced", "-o", "call_mode", "thread", "q"), "sync"),
        (("-m", "modes", "--async", "q"), "sync"),
    ):
        loopback.reset()
        loopback.script("judge", judge_saying("The judged answer"))
        result = llm_run(*args)
        assert result.stdout == "The judged answer\n", result.output
        assert {_implementation(r) for r in loopback.requests} == {expected}, args


def test_call_mode_async_on_a_sync_only_model_still_runs_it(local):
    save("solo", ["local"], arbiter=None, call_mode="async")
    result = llm_run("-m", "solo", "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ANSWER + "\n"


def test_a_bad_call_mode_is_one_clear_error(loopback, openai_models):
    openai_models(["alpha", "judge"])
    save("modes", ["alpha"])
    result = llm_run("-m", "modes", "-o", "call_mode", "sideways", "q")
    assert result.exit_code == 1
    assert "call_mode" in result.output and "Traceback" not in result.output


def test_create_saves_max_concurrent_and_call_mode(user_path):
    ok("create", "capped", "-m", "gpt-4o-mini:3", "-a", "gpt-4o",
       "--max-concurrent", "gpt-4o-mini", "2", "--max-concurrent", "gpt-4o", "1", "--call-mode", "async")
    saved = yaml.safe_load((user_path / "consortiums" / "capped.yaml").read_text())
    assert saved["models"] == [{"model_id": "gpt-4o-mini", "max_concurrent": 2, "count": 3}]
    assert saved["arbiter"] == {"model_id": "gpt-4o", "max_concurrent": 1}
    assert saved["call_mode"] == "async"
    ok("create", "plain", "-m", "gpt-4o-mini")
    assert "max_concurrent" not in (user_path / "consortiums" / "plain.yaml").read_text()
    assert "not a member" in refused("create", "bad", "-m", "gpt-4o-mini", "--max-concurrent", "gpt-4o", "2")
    assert "--max-concurrent" in refused("create", "bad", "-m", "gpt-4o-mini", "--max-concurrent", "gpt-4o-mini", "0")


def test_a_member_that_leaves_stdio_on_devnull_is_put_back_with_one_warning(local, caplog):
    save("leaky", [{"model_id": "local-leaky", "count": 2}], arbiter=None)
    for _ in range(2):
        result = llm_run("-m", "leaky", "q")
        assert result.exit_code == 0, result.output
        assert result.stdout == ANSWER + "\n"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "member local-leaky" in warnings[0] and "sys.stdout and sys.stderr" in warnings[0]


def test_a_failed_sync_call_carries_no_unrelated_chained_exception(panel, user_path):
    """Before: every error on the sync path also showed `RuntimeError: no running
    event loop` and "During handling of the above exception..." in its traceback."""
    panel.script("alpha", error(400, "nope", NO_RETRY))
    panel.script("beta", error(400, "nope", NO_RETRY))
    with pytest.raises(llm.ModelError) as info:
        llm.get_model("panel").prompt("q").text()
    shown = "".join(traceback.format_exception(info.value))
    assert "no running event loop" not in shown
    assert "During handling of the above exception" not in shown


TWENTY_THREADS = """
import threading
import llm

llm.get_model("panel")  # the documented workaround: plugins load once, before any thread
barrier = threading.Barrier(20)
answers, errors = [], []

def ask():
    barrier.wait()
    try:
        answers.append(llm.get_model("panel").prompt("q").text())
    except Exception as ex:
        errors.append(repr(ex))

threads = [threading.Thread(target=ask) for _ in range(20)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(answers.count("The panel answer"), errors[:1])
"""


def test_twenty_threads_resolving_and_prompting_a_consortium_at_once_all_succeed(panel, user_path):
    """Once llm's plugins are loaded, nothing in the consortium's resolution of its
    members (a registry pass per prompt) or its one shared loop fails under threads."""
    done = run_python(user_path, TWENTY_THREADS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "20 []\n"
    assert done.stderr == ""

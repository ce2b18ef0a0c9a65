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
from pathlib import Path

import local_plugin
import pytest
from llm.plugins import pm

from helpers import judge_saying, llm_run, llm_subprocess, save, subprocess_env
from loopback import LoopbackServer, write_models_file

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def local(user_path):
    """The local-engine test plugin, registered in this process; its models load
    their engine (and swap stdio) on every call."""
    plugin = local_plugin.LocalPlugin(local_plugin.local_models(reload=True))
    pm.register(plugin, name="local-plugin")
    local_plugin.OVERLAPS.clear()
    try:
        yield plugin
    finally:
        pm.unregister(name="local-plugin")


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
        save("panel", ["alpha", "beta"])
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

"""Member calls leave no socket for the garbage collector: under `python -W default`
a consortium prompt warns of nothing that a plain llm prompt does not."""

from __future__ import annotations

import pytest

from helpers import judge_saying, llm_subprocess, save
from loopback import LoopbackServer, write_models_file


@pytest.fixture
def keep_alive(user_path):
    """Loopback models served with HTTP keep-alive, as real providers do: a client
    keeps its connection open until it is closed (or collected)."""
    with LoopbackServer(keep_alive=True) as server:
        write_models_file(user_path, server.url, ["alpha", "beta", "judge"])
        server.script("judge", judge_saying("The judged answer"))
        yield server


@pytest.mark.parametrize("mode", ["thread", "async"])
def test_a_consortium_prompt_leaves_no_unclosed_socket(user_path, keep_alive, mode):
    save("panel", ["alpha", "beta"], call_mode=mode)
    plain = llm_subprocess(user_path, "-m", "alpha", "q", PYTHONWARNINGS="default")
    assert plain.returncode == 0 and plain.stderr == ""  # llm alone leaves none
    result = llm_subprocess(user_path, "-m", "panel", "q", PYTHONWARNINGS="default")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The judged answer\n"
    assert "ResourceWarning" not in result.stderr
    assert result.stderr == ""

"""A process that runs turn after turn gives memory back between them: `llm chat`'s
turns and eval's items end in `memory.after_run`, which collects the garbage from
the second run of a process on; a one-prompt process and a Python program are left
alone (docs/performance.md, the chat and eval soaks)."""

from __future__ import annotations

import gc

import llm
import pytest

from llm_consortium import memory
from llm_consortium.adapter import models

from helpers import judge_saying, llm_run, save
from loopback import reply


@pytest.fixture
def fresh_process(monkeypatch):
    monkeypatch.setattr(memory, "_runs_ended", 0)


@pytest.fixture
def collections(monkeypatch):
    """The full collections made from now on."""
    made: list[str] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            made.append(phase)

    gc.callbacks.append(seen)
    yield made
    gc.callbacks.remove(seen)


def test_the_first_run_of_a_process_collects_nothing_the_second_does_then_one_in_eight(fresh_process, collections):
    memory.after_run()
    assert collections == []
    memory.after_run()
    assert len(collections) == 1
    for _ in range(memory.COLLECT_EVERY - 1):
        memory.after_run()
    assert len(collections) == 1
    memory.after_run()
    assert len(collections) == 2


@pytest.fixture
def runs_ended(monkeypatch):
    ended: list[int] = []
    monkeypatch.setattr(models, "after_run", lambda: ended.append(1))
    return ended


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], arbiter="judge")
    loopback.script("alpha", reply("4"))
    loopback.script("judge", judge_saying("4"))


def test_every_chat_turn_ends_in_after_run(panel, runs_ended):
    result = llm_run("chat", "-m", "c", input="q\nagain\nquit\n")
    assert result.exit_code == 0, result.output
    assert len(runs_ended) == 2


def test_a_python_program_s_calls_leave_its_memory_alone(panel, runs_ended):
    model = llm.get_model("c")
    assert model.prompt("q").text() == "4"
    assert model.prompt("again").text() == "4"
    assert runs_ended == []

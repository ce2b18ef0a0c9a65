"""The answer streams through llm's real CLI and its real OpenAI plugin: the loopback
arbiter writes its reply in token-sized pieces, and the answer's first words are on
stdout while the rest of the reply is still unsent."""

from __future__ import annotations

import asyncio
import json
import os

import llm
import pytest

from helpers import LLM_BIN, llm_run, save, spawn, verdict
from loopback import Hold, reply

ANSWER = "Paris is the capital of France, and has been for a long time."


@pytest.fixture
def panel(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("judge", reply(verdict(ANSWER), piece_chars=3))
    return "panel"


def read_until(fd: int, wanted: str | None) -> str:
    """Read a pipe until `wanted` has appeared (None: until EOF)."""
    out = b""
    while wanted is None or wanted.encode() not in out:
        data = os.read(fd, 4096)
        if not data:
            break
        out += data
    return out.decode()


def test_first_words_reach_stdout_while_the_arbiter_is_still_writing(panel, loopback, user_path):
    hold = Hold("Paris is the")
    loopback.script("judge", reply(verdict(ANSWER), piece_chars=3, hold=hold))
    process = spawn(user_path, LLM_BIN, "-m", panel, "What is the capital of France?")
    try:
        first = read_until(process.stdout.fileno(), "Paris is")
        # The server is holding the rest of the arbiter's reply until we say so.
        assert hold.reached.is_set() and not hold.timed_out
        assert first.startswith("Paris is") and "France" not in first
        hold.release()
        rest = read_until(process.stdout.fileno(), None)
        assert process.wait(timeout=60) == 0
    finally:
        hold.release()
        if process.poll() is None:
            process.kill()
    assert first + rest == ANSWER + "\n"
    assert process.stderr.read() == ""
    assert not hold.timed_out
    (judge_request,) = loopback.requests_for("judge")
    assert judge_request.stream


def test_a_two_round_run_prints_only_the_final_rounds_answer(panel, loopback):
    loopback.script(
        "judge",
        reply(verdict("A rough first draft.", 0.4, needs_iteration=True, areas="be exact"), piece_chars=3),
        reply(verdict(ANSWER, 0.9), piece_chars=3),
    )
    result = llm_run("-m", panel, "capital?")
    assert result.exit_code == 0, result.output
    assert result.stdout == ANSWER + "\n"
    assert len(loopback.requests_for("judge")) == 2
    logged = json.loads(llm_run("logs", "--json", "-n", "1").stdout)[0]
    assert logged["response"] == ANSWER
    rounds = logged["response_json"]["rounds"]
    assert [r["arbiter"]["raw"] for r in rounds] == [
        verdict("A rough first draft.", 0.4, needs_iteration=True, areas="be exact"),
        verdict(ANSWER, 0.9),
    ]


@pytest.mark.parametrize("args", [[], ["--no-stream"], ["--async"], ["--async", "--no-stream"]])
def test_every_way_of_prompting_gives_the_same_text(panel, loopback, args):
    result = llm_run("-m", panel, *args, "capital?")
    assert result.exit_code == 0, result.output
    assert result.stdout == ANSWER + "\n"
    assert result.stderr == ""


def test_chat_streams_each_turn(panel, loopback):
    result = llm_run("chat", "-m", panel, input="capital?\nagain?\nquit\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(ANSWER) == 2
    assert "<synthesis>" not in result.stdout
    assert result.stderr == ""


def test_python_iterators_stream_the_same_text(panel, loopback):
    response = llm.get_model(panel).prompt("capital?")
    chunks = list(response)
    assert "".join(chunks) == ANSWER and len(chunks) > 3
    assert response.text() == ANSWER
    assert response.response_json["consortium"] == panel

    async def ask() -> list[str]:
        response = llm.get_async_model(panel).prompt("capital?")
        return [chunk async for chunk in response]

    chunks = asyncio.run(ask())
    assert "".join(chunks) == ANSWER and len(chunks) > 3


def test_an_arbiter_that_ignores_the_tag_order_still_yields_the_tag_free_answer(panel, loopback):
    off_format = (
        "<think>Should I write <synthesis> first?</think>\n"
        f"<synthesis>\n{ANSWER}\n</synthesis>\n<analysis>fine</analysis>\n"
        "<confidence>0.9</confidence>\n<needs_iteration>false</needs_iteration>"
    )
    loopback.script("judge", reply(off_format, piece_chars=2))
    result = llm_run("-m", panel, "capital?")
    assert result.exit_code == 0, result.output
    assert result.stdout == ANSWER + "\n"


def test_an_arbiter_that_cannot_stream_works_unchanged(loopback, openai_models):
    openai_models(["alpha", "judge"], judge={"can_stream": False})
    save("plain", ["alpha"])
    loopback.script("judge", reply(verdict(ANSWER)))
    result = llm_run("-m", "plain", "capital?")
    assert (result.exit_code, result.stdout) == (0, ANSWER + "\n")
    (judge_request,) = loopback.requests_for("judge")
    assert not judge_request.stream


def test_a_consortium_as_arbiter_streams_its_answer_into_the_outer_one(loopback, openai_models):
    openai_models(["alpha", "judge"])
    save("inner", ["alpha"])
    save("outer", ["alpha"], arbiter="inner")
    loopback.script("judge", reply(verdict(ANSWER), piece_chars=3))
    result = llm_run("-m", "outer", "capital?")
    # The inner consortium's answer has no tags: the outer takes it whole.
    assert (result.exit_code, result.stdout) == (0, ANSWER + "\n")
    assert all(r.stream for r in loopback.requests_for("judge"))

"""The engine's structure under failure: one member's unexpected error fails that member
only, cancelling a run cancels every member call, and the trace declares its version
(old traces still read)."""

from __future__ import annotations

import asyncio

import pytest

from llm_consortium.engine import run
from llm_consortium.structured.formats import TextFormat
from llm_consortium.trace import TRACE_VERSION, read_trace
from llm_consortium.types import Call

from helpers import Scripted, settings, verdict


@pytest.mark.asyncio
async def test_an_unexpected_error_checking_one_answer_fails_that_member_only(monkeypatch):
    def check(self, outcome):
        if outcome.reply is not None and outcome.reply.text == "poison":
            raise OverflowError("integer too large")

    monkeypatch.setattr(TextFormat, "check", check)
    good = Scripted("good", "fine")
    bad = Scripted("bad", "poison", tokens=(5, 6))
    arbiter = Scripted("judge", verdict("fine"))
    result = await run(Call("q"), [good.participant(), bad.participant()], arbiter.participant(), settings())
    assert result.text == "fine"
    members = result.rounds[0]["members"]
    assert "text" in members[0]
    assert members[1]["error"] == "answer could not be checked: OverflowError: integer too large"
    # what the rejected member cost is still counted
    assert result.usage["per_model"]["bad"]["input"] == 5


@pytest.mark.asyncio
async def test_cancelling_a_run_cancels_every_member_call():
    started = asyncio.Barrier(4)
    cancelled = []

    async def hang(call):
        try:
            await started.wait()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(call.prompt)
            raise

    members = [Scripted(f"m{i}", hang).participant() for i in range(3)]
    task = asyncio.create_task(run(Call("q"), members, None, settings(timeout=600)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == ["q", "q", "q"]


@pytest.mark.asyncio
async def test_a_new_trace_declares_its_version():
    member = Scripted("m", "a")
    result = await run(Call("q"), [member.participant()], Scripted("judge", verdict("a")).participant(), settings())
    trace = result.trace()
    assert trace["version"] == TRACE_VERSION == 2
    assert read_trace(trace) == trace


def test_an_old_trace_without_a_version_still_reads():
    old = {
        "rounds": [{"round": 1, "members": [{"model": "m", "text": "a"}, "junk"], "arbiter": "junk"}, 7],
        "final_round": 1,
        "confidence": 0.9,
        "usage": {"input": 1, "output": 2},
        "notes": ["n", 3],
        "consortium": "panel",
    }
    trace = read_trace(old)
    assert trace["version"] == 1
    assert trace["rounds"] == [{"round": 1, "members": [{"model": "m", "text": "a"}]}]
    assert trace["notes"] == ["n", "3"]
    assert trace["consortium"] == "panel"  # type: ignore[typeddict-item]  # unknown keys are kept


@pytest.mark.parametrize("junk", [None, "text", 3, [1, 2]])
def test_anything_reads_as_an_empty_trace(junk):
    trace = read_trace(junk)
    assert trace["rounds"] == [] and trace["notes"] == []

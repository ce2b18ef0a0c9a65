"""The MCP server's job table on its own (no protocol): the cap on running consults,
finished jobs kept by finish time and age, a job whose caller cancelled before its id
came back, and the server going away. Runs are scripted coroutines held by events,
so nothing here waits on the clock.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from llm_consortium.agents.consult import ConsultResult, Request
from llm_consortium.agents.jobs import Jobs
from llm_consortium.errors import ConsultError

pytestmark = pytest.mark.asyncio


class Runs:
    """Scripted consults: each waits until the test finishes it by its prompt."""

    def __init__(self) -> None:
        self.go: dict[str, anyio.Event] = {}
        self.cancelled: list[str] = []

    async def __call__(self, request: Request, saw: Any) -> ConsultResult:
        go = self.go.setdefault(request.prompt, anyio.Event())
        try:
            await go.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(request.prompt)
            raise
        return ConsultResult(consortium=request.consortium, status="complete", answer=request.prompt)

    def finish(self, prompt: str) -> None:
        self.go.setdefault(prompt, anyio.Event()).set()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_beyond_the_cap_a_consult_is_refused_saying_how_many_run():
    runs = Runs()
    jobs = Jobs(runs, most_running=2)
    async with jobs.serving():
        first = jobs.start(Request("panel", "one"))
        jobs.start(Request("panel", "two"))
        with pytest.raises(ConsultError, match=r"^2 consults already running on this server, the most it runs at once"):
            jobs.start(Request("panel", "three"))
        runs.finish("one")
        await first.ended.wait()
        assert jobs.start(Request("panel", "three")).state == "running"  # a slot is free again
        runs.finish("two"), runs.finish("three")


async def test_finished_jobs_go_in_the_order_they_finished():
    runs, clock = Runs(), Clock()
    jobs = Jobs(runs, keep_finished=1, clock=clock)
    async with jobs.serving():
        long = jobs.start(Request("panel", "long"))
        short = jobs.start(Request("panel", "short"))
        runs.finish("short")
        await short.ended.wait()
        clock.now += 60
        runs.finish("long")  # started first, finished last, not polled yet
        await long.ended.wait()
        jobs.start(Request("panel", "next"))
        assert jobs.get(long.id).payload()["answer"] == "long"
        with pytest.raises(ConsultError, match=r"finished jobs are kept 1 hour after they finish, the latest 1$"):
            jobs.get(short.id)
        runs.finish("next")


async def test_finished_jobs_are_kept_for_their_time():
    runs, clock = Runs(), Clock()
    jobs = Jobs(runs, keep_seconds=600, clock=clock)
    async with jobs.serving():
        job = jobs.start(Request("panel", "q"))
        runs.finish("q")
        await job.ended.wait()
        clock.now += 600
        assert jobs.get(job.id).state == "done"
        clock.now += 1
        with pytest.raises(ConsultError, match="kept 10 minutes after they finish"):
            jobs.get(job.id)


async def test_a_job_whose_caller_cancelled_before_its_id_came_back_is_cancelled():
    runs = Runs()
    jobs = Jobs(runs)
    async with jobs.serving():
        orphan = jobs.start(Request("panel", "orphan"), request_id="7")
        kept = jobs.start(Request("panel", "kept"), request_id="8")
        jobs.handed_out(kept)
        assert jobs.abandoned("7") is orphan
        assert jobs.abandoned("8") is None  # its id reached the caller: only cancel stops it
        await orphan.ended.wait()
        assert (orphan.state, runs.cancelled) == ("cancelled", ["orphan"])
        assert orphan.payload()["progress"]["phase"] == "starting"
        runs.finish("kept")


async def test_the_server_going_away_cancels_the_jobs_still_running(caplog):
    runs = Runs()
    jobs = Jobs(runs)
    with caplog.at_level(logging.WARNING, logger="llm_consortium.agents.jobs"):
        async with jobs.serving():
            done = jobs.start(Request("panel", "done"))
            running = [jobs.start(Request("panel", name)) for name in ("a", "b")]
            runs.finish("done")
            await done.ended.wait()
        # Left only once both had stopped.
    assert all(job.state == "cancelled" and job.ended.is_set() for job in running)
    assert sorted(runs.cancelled) == ["a", "b"]
    assert [r.getMessage() for r in caplog.records] == [
        "llm consortiums mcp: the client went away; cancelled 2 running consults"
    ]


async def test_a_run_that_raises_is_a_failed_result_and_a_wait_ends_with_it():
    async def broken(request: Request, saw: Any) -> ConsultResult:
        raise ValueError("a plugin bug")

    jobs = Jobs(broken)
    async with jobs.serving():
        job = jobs.start(Request("panel", "q"))
        await job.wait(300)  # returns when the job ends, not after 300 s
        assert (job.state, job.outcome and job.outcome.error) == ("done", "unexpected error: ValueError: a plugin bug")


async def test_no_job_starts_outside_serving():
    with pytest.raises(ConsultError, match="not serving consults now"):
        Jobs(Runs()).start(Request("panel", "q"))

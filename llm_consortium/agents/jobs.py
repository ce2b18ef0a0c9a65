"""Consults that outlive a tool call: an agent's client gives up on a call after about
a minute, while a deliberation may take longer. Each consult runs as a job (an
asyncio task); a caller waits for it at most the seconds it asked for, hearing its
progress, and gets either the result or the job's id and progress so far, then polls
or cancels it. Closing the jobs (the client went away) cancels every run left.

Protocol-free (no MCP here), so the waiting rules are tested on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .consult import ConsultError, ConsultResult, Request, consult_async, failed

Runner = Callable[[Request, Callable[[Any], None]], Awaitable[ConsultResult]]
Reporter = Callable[[int, str], Awaitable[None]]  # (events so far, one line) while a caller waits

KEEP_FINISHED = 50  # finished jobs kept for consult_result; the oldest go first


@dataclass
class Progress:
    """Where a running consult is, from the engine's progress events."""

    phase: str = "starting"
    round: int = 0
    max_rounds: int = 0
    members_total: int = 0
    members_answered: int = 0
    members_failed: int = 0
    tool_calls: int = 0

    def line(self) -> str:
        if not self.round:
            return self.phase
        where = f"round {self.round} of at most {self.max_rounds}"
        answered = f"{self.members_answered} of {self.members_total} members answered"
        failed = f", {self.members_failed} failed" if self.members_failed else ""
        return f"{where}: {self.phase} ({answered}{failed})"

    def saw(self, event: Any) -> None:
        """Take in one engine event (`types.Event`)."""
        self.round, self.max_rounds = event.round, event.max_rounds
        self.members_total, self.tool_calls = event.members_total, event.tool_calls
        if event.kind == "round_start":
            self.phase, self.members_answered, self.members_failed = "members answering", 0, 0
        elif event.kind == "member_done":
            self.members_failed = event.members_failed
            self.members_answered = event.members_done - event.members_failed
        elif event.kind == "review":
            self.phase = "members reviewing each other's answers"
        elif event.kind == "arbiter_start":
            self.phase = "arbiter writing"
        elif event.kind == "round_done":
            self.phase = "round done, another one next" if event.another_round else "finishing"


@dataclass
class Job:
    """One consult: its task, its progress and when it started."""

    id: str
    consortium: str
    task: asyncio.Task[ConsultResult]
    progress: Progress = field(default_factory=Progress)
    started: float = field(default_factory=time.monotonic)
    events: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False

    def saw(self, event: Any) -> None:
        self.progress.saw(event)
        self.events += 1
        self.changed.set()

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        return "done" if self.task.done() else "running"

    def result(self) -> ConsultResult:
        """The finished job's result (a run that raised is a failed one)."""
        try:
            return self.task.result()
        except ConsultError as ex:
            return failed(self.consortium, str(ex))
        except Exception as ex:  # a bug must reach the agent as a failed run, not kill the server
            return failed(self.consortium, f"unexpected error: {type(ex).__name__}: {ex}")

    def payload(self) -> dict[str, Any]:
        """What a caller gets: the result when done, else the progress so far."""
        base = {"job_id": self.id, "state": self.state, "elapsed_seconds": round(time.monotonic() - self.started, 1)}
        if self.state == "done":
            return {**base, **self.result().as_dict()}
        return {**base, "consortium": self.consortium, "progress": asdict(self.progress)}

    def text(self) -> str:
        if self.state == "done":
            return f"{self.result().as_text()}\nJob: {self.id}"
        if self.state == "cancelled":
            return f"Job {self.id} ({self.consortium}) was cancelled: {self.progress.line()}."
        return (
            f"Job {self.id} ({self.consortium}) is still running: {self.progress.line()}. "
            f"Call consult_result with job_id {self.id!r} to wait for its result, or cancel it."
        )

    async def wait(self, seconds: float, report: Reporter | None = None) -> None:
        """Wait until the job ends or `seconds` pass, reporting each change."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.task.done():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.changed.clear()
            changed = asyncio.ensure_future(self.changed.wait())
            try:
                await asyncio.wait({self.task, changed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
            if report is not None and not self.task.done():
                await report(self.events, self.progress.line())


class Jobs:
    """Every consult of one server, by id."""

    def __init__(self, runner: Runner = consult_async) -> None:
        self.runner = runner
        self.jobs: dict[str, Job] = {}

    def start(self, request: Request) -> Job:
        holder: list[Job] = []

        def saw(event: Any) -> None:
            if holder:
                holder[0].saw(event)

        task = asyncio.ensure_future(self.runner(request, saw))
        job = Job(f"consult-{secrets.token_hex(6)}", request.consortium, task)
        holder.append(job)
        self.jobs[job.id] = job
        self._forget_old()
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            known = ", ".join(self.jobs) or "none"
            raise ConsultError(f"No consult job {job_id!r} on this server (jobs: {known})")
        return job

    async def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if not job.task.done():
            job.cancelled = True
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job.task
        return job

    async def close(self) -> int:
        """Cancel every running job and wait for them to stop; how many there were."""
        running = [job for job in self.jobs.values() if not job.task.done()]
        for job in running:
            job.cancelled = True
            job.task.cancel()
        for job in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job.task
        return len(running)

    def _forget_old(self) -> None:
        finished = [job_id for job_id, job in self.jobs.items() if job.task.done()]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.jobs[job_id]

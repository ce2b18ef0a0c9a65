"""Consults that outlive a tool call: an agent's client gives up on a call after about
a minute, while a deliberation may take longer. Each consult runs as a job in the
task group its owner opens (`serving()`: the MCP server's lifespan); a caller waits
for it at most the seconds it asked for, hearing its progress, and gets either the
result or the job's id and progress so far, then polls or cancels it.

The table is bounded both ways: at most `most_running` jobs run at once (one more is
refused, saying how many run), and finished jobs are kept for `keep_seconds` after
they finish, at most `keep_finished` of them, the earliest finished going first.
Leaving `serving()` (the client went away) cancels every job still running and
waits for each to stop.

Protocol-free (no MCP here), so the waiting rules are tested on their own.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel, Field

from ..errors import ConsultError
from ..text.words import plural
from .consult import ConsultResult, Request, consult_async, failed

Runner = Callable[[Request, Callable[[Any], None]], Awaitable[ConsultResult]]
Reporter = Callable[[int, str], Awaitable[None]]  # (events so far, one line) while a caller waits

MOST_RUNNING = 16  # consults running at once on one server
KEEP_FINISHED = 100  # finished jobs kept for consult_result
KEEP_SECONDS = 3600.0  # how long after it finished a job is kept

logger = logging.getLogger(__name__)


class Progress(BaseModel):
    """Where a running consult is, from the engine's progress events."""

    phase: str = Field(default="starting", description="What the run is doing now")
    round: int = Field(default=0, description="The round being played (0: not started)")
    max_rounds: int = Field(default=0, description="The most rounds this run may play")
    members_total: int = Field(default=0, description="Members asked this round")
    members_answered: int = Field(default=0, description="Members that answered this round")
    members_failed: int = Field(default=0, description="Members that failed this round")
    tool_calls: int = Field(default=0, description="Tool calls the members made so far")

    def line(self) -> str:
        if not self.round:
            return self.phase
        where = f"round {self.round} of at most {self.max_rounds}"
        answered = f"{self.members_answered} of {plural(self.members_total, 'member')} answered"
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


@dataclass(eq=False)
class Job:
    """One consult: its progress, its cancel scope, and its outcome once it ends.
    `request_id` is the caller's request that started it, until the job's id has been
    handed back (`handed_out`): only then can anyone else poll or cancel it."""

    id: str
    consortium: str
    request_id: Hashable | None = None
    progress: Progress = field(default_factory=Progress)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    outcome: ConsultResult | None = None
    cancelled: bool = False
    handed_out: bool = False
    events: int = 0
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ended: anyio.Event = field(default_factory=anyio.Event)
    changed: anyio.Event = field(default_factory=anyio.Event)

    def saw(self, event: Any) -> None:
        self.progress.saw(event)
        self.events += 1
        self._wake()

    def _wake(self) -> None:
        """Tell every waiter something changed (an anyio Event fires once: a new one follows)."""
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        return "done" if self.outcome is not None else "running"

    def cancel(self) -> None:
        """Stop the run (at its next await); nothing more is spent on it."""
        if self.finished is None:
            self.cancelled = True
            self.scope.cancel()

    def payload(self) -> dict[str, Any]:
        """What a caller gets: the result when done, else the progress so far."""
        end = self.finished if self.finished is not None else time.monotonic()
        base = {"job_id": self.id, "state": self.state, "elapsed_seconds": round(end - self.started, 1)}
        if self.state == "done":
            assert self.outcome is not None
            return {**base, **self.outcome.as_dict()}
        return {**base, "consortium": self.consortium, "progress": self.progress.model_dump()}

    def text(self) -> str:
        if self.state == "done":
            assert self.outcome is not None
            return f"{self.outcome.as_text()}\nJob: {self.id}"
        if self.state == "cancelled":
            return f"Job {self.id} ({self.consortium}) was cancelled: {self.progress.line()}."
        return (
            f"Job {self.id} ({self.consortium}) is still running: {self.progress.line()}. "
            f"Call consult_result with job_id {self.id!r} to wait for its result, or cancel it."
        )

    async def wait(self, seconds: float, report: Reporter | None = None) -> None:
        """Wait until the job ends or `seconds` pass, reporting each change."""
        with anyio.move_on_after(max(0.0, seconds)):
            while self.finished is None:
                await self.changed.wait()
                if report is not None and self.finished is None:
                    await report(self.events, self.progress.line())


class Jobs:
    """Every consult of one server, by id; see the module docstring for the bounds."""

    def __init__(
        self,
        runner: Runner = consult_async,
        *,
        most_running: int = MOST_RUNNING,
        keep_finished: int = KEEP_FINISHED,
        keep_seconds: float = KEEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.runner = runner
        self.on_idle = on_idle  # called when the last running job ends
        self.most_running = most_running
        self.keep_finished = keep_finished
        self.keep_seconds = keep_seconds
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self._group: TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Jobs]:
        """Own the jobs' task group while the server serves; on the way out, cancel the
        jobs still running, wait for each to stop, and say how many there were."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._group = None
                running = self.running()
                for job in running:
                    job.cancel()
                if running:
                    cancelled = plural(len(running), "running consult")
                    logger.warning("llm consortiums mcp: the client went away; cancelled %s", cancelled)

    def running(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.finished is None and not job.cancelled]

    def start(self, request: Request, request_id: Hashable | None = None) -> Job:
        """Start a consult as a job; ConsultError when as many as allowed already run."""
        if self._group is None:
            raise ConsultError("The server is not serving consults now (it is starting or stopping)")
        self._forget_old()
        running = self.running()
        if len(running) >= self.most_running:
            raise ConsultError(
                f"{plural(len(running), 'consult')} already running on this server, the most it runs at once: "
                "wait for one to finish (consult_result) or cancel one, then ask again"
            )
        job = Job(f"consult-{secrets.token_hex(6)}", request.consortium, request_id, started=self.clock())
        self.jobs[job.id] = job
        self._group.start_soon(self._run, job, request, name=job.id)
        return job

    async def _run(self, job: Job, request: Request) -> None:
        try:
            with job.scope:
                try:
                    job.outcome = await self.runner(request, job.saw)
                except ConsultError as ex:
                    job.outcome = failed(job.consortium, str(ex))
                except Exception as ex:  # a bug must reach the agent as a failed run, not kill the server
                    logger.debug("consult %s failed unexpectedly", job.id, exc_info=True)
                    job.outcome = failed(job.consortium, f"unexpected error: {type(ex).__name__}: {ex}")
        finally:
            job.finished = self.clock()
            job.ended.set()
            job._wake()
            if self.on_idle is not None and not self.running():
                self.on_idle()

    def get(self, job_id: str) -> Job:
        self._forget_old()
        job = self.jobs.get(job_id)
        if job is None:
            raise ConsultError(
                f"No consult job {job_id!r} on this server: finished jobs are kept "
                f"{_duration(self.keep_seconds)} after they finish, the latest {self.keep_finished}"
            )
        return job

    def handed_out(self, job: Job) -> None:
        """The job's id reached its caller: from now on only `cancel` stops it."""
        job.handed_out = True

    def abandoned(self, request_id: Hashable) -> Job | None:
        """The caller cancelled the request that started a job before its id came back:
        nobody can poll or cancel that job, so it is cancelled now."""
        for job in self.jobs.values():
            if job.request_id == request_id and not job.handed_out and job.finished is None:
                job.cancel()
                return job
        return None

    async def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel()
        await job.ended.wait()
        return job

    def _forget_old(self) -> None:
        """Drop finished jobs past their time, then the earliest finished beyond the count."""
        now = self.clock()
        finished = sorted((j for j in self.jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
        expired = [job for job in finished if now - (job.finished or now) > self.keep_seconds]
        over = finished[len(expired):][: max(0, len(finished) - len(expired) - self.keep_finished)]
        for job in [*expired, *over]:
            del self.jobs[job.id]


def _duration(seconds: float) -> str:
    if seconds >= 3600 and math.isclose(seconds % 3600, 0):
        return plural(int(seconds // 3600), "hour")
    if seconds >= 60 and math.isclose(seconds % 60, 0):
        return plural(int(seconds // 60), "minute")
    return plural(round(seconds), "second")

"""`llm consortiums mcp`: the saved consortiums served to agents over MCP on stdio,
with the official SDK's high-level server (`mcp.server.MCPServer`, mcp 2.x).

The SDK's stdio transport points file descriptor 1 at stderr while it serves, so a
model plugin's stray print cannot corrupt the protocol. The consults run as jobs in
a task group the server's lifespan owns, inside the transport: when the client goes
away they are cancelled while fd 1 is still the server's. Every tool result is both
structured content, whose schema each tool publishes (`outputSchema`), and text. A
consult waits at most `wait_seconds` (20 by default, well under the minute after
which common clients give up on a call) and then hands back a job id while the run
goes on; a consult call the client cancels before that cancels its run.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, WithJsonSchema, create_model

from ..errors import ConsultError
from ..memory import after_run, resident_bytes
from ..text.words import plural
from .consult import ConsultResult, Request, check
from .jobs import Job, Jobs, Progress

DEFAULT_WAIT = 20.0  # seconds: common MCP clients abandon a call after 60-120 s
MOST_WAIT = 300.0

INSTRUCTIONS = (
    "Each tool here runs a consortium: several language models answer the same prompt and "
    "an arbiter (or a vote) combines their answers into one, with a confidence. Use "
    "list_consortiums to see which exist, consult to ask one. A consult that takes longer "
    "than wait_seconds returns a job_id at once; poll it with consult_result. Always read "
    "the status: only `complete` means every member answered and the arbiter judged."
)


class ConsortiumRow(BaseModel):
    name: str = Field(description="The name to consult it by")
    members: list[str] | None = Field(default=None, description="Its member models (`model xN`: N copies)")
    arbiter: str | None = Field(default=None, description="The model that merges the answers; null: members vote")
    strategy: str | None = Field(default=None, description="How answers are combined")
    tiers: int | None = Field(default=None, description="Tiers of members (cheaper ones asked first)")
    max_rounds: int | None = Field(default=None, description="The most rounds a run plays")
    typical_cost_usd: float | None = Field(
        default=None, description="Median cost of its latest logged runs whose prices were all known, else null"
    )
    error: str | None = Field(default=None, description="Why its file cannot be used (the other fields are then null)")


class Overview(BaseModel):
    consortiums: list[ConsortiumRow]


def _job_fields() -> dict[str, Any]:
    """The fields of a job's payload: its state, and every field of ConsultResult (the
    one definition of a result), null until the job is done."""
    fields: dict[str, Any] = {
        "job_id": (str, Field(description="The job: consult_result and cancel take it")),
        "state": (Literal["running", "done", "cancelled"], Field(description="The job's state; done holds the result")),
        "elapsed_seconds": (float, Field(description="Seconds since the job started (until it ended, once it has)")),
        "consortium": (str, Field(description="The consortium consulted")),
        "progress": (Progress | None, Field(default=None, description="While running or cancelled: where the run is")),
    }
    for name, info in ConsultResult.model_fields.items():
        fields.setdefault(name, (info.annotation | None, Field(default=None, description=info.description)))  # type: ignore[operator]
    return fields


# What consult, consult_result and cancel return.
ConsultJob = create_model("ConsultJob", **_job_fields())


class ServerStatus(BaseModel):
    threads: int = Field(description="Threads of the server process")
    asyncio_tasks: int = Field(description="asyncio tasks on the server's event loop")
    rss_bytes: int | None = Field(description="Resident memory of the process (null where /proc is missing)")
    jobs_running: int = Field(description="Consults running now")
    jobs_kept: int = Field(description="Jobs in the table, running and finished")
    jobs: list[dict[str, str]] = Field(description="Every job in the table: job_id, consortium, state")


def _result(payload: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=payload)


def _wait(seconds: float | None) -> float:
    if seconds is None:
        return DEFAULT_WAIT
    if math.isnan(seconds):
        raise ToolError("wait_seconds must be a number of seconds, got NaN")
    return min(max(float(seconds), 0.0), MOST_WAIT)


async def _waited(job: Job, seconds: float, ctx: Context | None) -> CallToolResult:
    """Wait for `job` within the limit, sending progress notifications when the client
    asked for them (the SDK drops them otherwise), then its result or its progress."""

    async def report(events: int, line: str) -> None:
        if ctx is not None:
            await ctx.report_progress(events, None, line)

    await job.wait(seconds, report)
    return _result(job.payload(), job.text())


def _overview() -> Overview:
    """Every saved consortium: members, arbiter, strategy, tiers, and what its logged
    runs have cost (the median of the latest priced ones), when known."""
    from ..saved.store import list_names, load

    rows: list[ConsortiumRow] = []
    costs = _typical_costs()
    for name in list_names():
        try:
            config = load(name)
        except Exception as ex:  # a broken file is listed as broken, never hides the rest
            rows.append(ConsortiumRow(name=name, error=str(ex)))
            continue
        rows.append(ConsortiumRow(
            name=name,
            members=[f"{m.model_id} x{m.count}" if m.count > 1 else m.model_id for m in config.models],
            arbiter=config.arbiter.model_id if config.arbiter else None,
            strategy=config.effective_strategy,
            tiers=len({m.tier for m in config.models}),
            max_rounds=config.max_iterations,
            typical_cost_usd=costs.get(name),
        ))
    return Overview(consortiums=rows)


def _typical_costs() -> dict[str, float]:
    """Per consortium, the median cost of its latest logged runs whose every price was
    known; none when the logs hold none."""
    import statistics

    from ..errors import RunsError
    from ..history.logged_runs import open_logs, recent_runs

    try:
        runs = recent_runs(open_logs(), limit=200)
    except RunsError:
        return {}
    spent: dict[str, list[float]] = {}
    for run in runs:
        cost = (run.trace.get("usage") or {}).get("cost_usd")
        if isinstance(cost, (int, float)):
            spent.setdefault(run.consortium, []).append(float(cost))
    return {name: round(statistics.median(values), 6) for name, values in spent.items()}


def _overview_text(overview: Overview) -> str:
    lines = []
    for row in overview.consortiums:
        if row.error is not None:
            lines.append(f"- {row.name}: BROKEN ({row.error})")
            continue
        cost = f"~${row.typical_cost_usd:.4f} a run" if row.typical_cost_usd is not None else "cost unknown"
        arbiter = f"arbiter {row.arbiter}" if row.arbiter else "no arbiter"
        lines.append(
            f"- {row.name}: {', '.join(row.members or [])}; {arbiter}; {row.strategy}; "
            f"{plural(row.tiers or 0, 'tier')}; up to {plural(row.max_rounds or 0, 'round')}; {cost}"
        )
    return "\n".join(lines) or "No consortium is saved (llm consortiums create NAME -m MODEL ...)."


def _package_version() -> str:
    try:
        return version("llm-consortium")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _argument_given_null(ctx: Context, name: str) -> bool:
    """Whether the call's raw arguments hold `name` as null (validation cannot tell
    a null from an absent key: both are None)."""
    params = ctx.request_context.params or {}
    arguments = params.get("arguments") if isinstance(params, Mapping) else None
    return isinstance(arguments, Mapping) and name in arguments and arguments[name] is None


def build(jobs: Jobs, tools: list[Any], status_tool: bool = False) -> MCPServer:
    """The server and its tools; `tools` go to every consult's members that can use
    them. With `status_tool`, also `server_status` (threads, tasks, memory, jobs)."""

    async def abandon_cancelled(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """A consult call the client cancels (`notifications/cancelled`) before its job
        id came back: the SDK stops the call, and this stops its run (nobody else could)."""
        if ctx.method == "notifications/cancelled" and isinstance(ctx.params, Mapping):
            request_id = ctx.params.get("requestId")
            if request_id is not None:
                jobs.abandoned(str(request_id))
        return await call_next(ctx)

    server: MCPServer = MCPServer(
        "llm-consortium", version=_package_version(), instructions=INSTRUCTIONS, log_level="WARNING",
        lifespan=lambda _: jobs.serving(), middleware=[abandon_cancelled],
    )

    def tool(annotations: ToolAnnotations | None = None) -> Callable[[Any], Any]:
        # The docstring is the description a model reads: without Python's indentation.
        def add(fn: Any) -> Any:
            server.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations)
            return fn

        return add

    @tool(ToolAnnotations(read_only_hint=True))
    def list_consortiums() -> Annotated[CallToolResult, Overview]:
        """List the saved consortiums you can consult: each one's member models, its arbiter
        (the model that compares and merges their answers; none means the members vote),
        strategy, tiers (cheaper members asked first), most rounds, and the median cost in
        USD of its recent runs when prices are known."""
        overview = _overview()
        return _result(overview.model_dump(), _overview_text(overview))

    @tool()
    async def consult(
        consortium: Annotated[str, Field(description="Name of a saved consortium (see list_consortiums)")],
        prompt: Annotated[str, Field(description="The complete question or task; the panel sees nothing else")],
        ctx: Context,
        system: Annotated[str | None, Field(description="Optional system prompt for every member")] = None,
        schema: Annotated[
            dict[str, Any] | None, Field(description="Optional JSON schema the answer must match (answer is JSON)")
        ] = None,
        max_usd: Annotated[
            float | None,
            Field(description="Optional most USD this consult may spend (needs prices set); omit it for no limit"),
            WithJsonSchema({"type": "number", "minimum": 0}),
        ] = None,
        wait_seconds: Annotated[
            float | None,
            Field(description=f"Seconds to wait for the answer before returning a job_id (default {DEFAULT_WAIT:g})"),
        ] = None,
    ) -> Annotated[CallToolResult, ConsultJob]:
        """Ask a consortium: several models answer the prompt and an arbiter or a vote
        combines them. Returns the answer with its status (`complete`; `partial`: some
        members failed; `stopped`: the budget ended it early; `fallback`: the arbiter
        failed and a vote decided; `failed`: no answer), confidence, failed members,
        dissent, calls, tokens, cost and a run id. When the run takes longer than
        wait_seconds it returns a job_id at once and keeps running: call consult_result.
        Cancelling this call before it returns cancels the run."""
        if _argument_given_null(ctx, "max_usd"):  # a NaN a client's JSON encoder wrote as null
            raise ToolError("max_usd must be a number of USD, got null: omit it for no limit")
        request = Request(consortium, prompt, system=system, schema=schema, max_usd=max_usd, tools=list(tools))
        seconds = _wait(wait_seconds)
        try:
            check(request)
            job = jobs.start(request, str(ctx.request_context.request_id))
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        result = await _waited(job, seconds, ctx)
        jobs.handed_out(job)  # no await from here to the return: the id reaches the client
        return result

    @tool()
    async def consult_result(
        job_id: Annotated[str, Field(description="The job_id a consult returned")],
        ctx: Context,
        wait_seconds: Annotated[
            float | None, Field(description=f"Seconds to wait for it to finish (default {DEFAULT_WAIT:g})")
        ] = None,
    ) -> Annotated[CallToolResult, ConsultJob]:
        """The result of a consult that returned a job_id, once it finishes within
        wait_seconds; else its progress so far (round, members answered) and the job_id
        to ask again."""
        seconds = _wait(wait_seconds)
        try:
            job = jobs.get(job_id)
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        return await _waited(job, seconds, ctx)

    @tool()
    async def cancel(
        job_id: Annotated[str, Field(description="The job_id of a running consult")],
    ) -> Annotated[CallToolResult, ConsultJob]:
        """Stop a running consult; nothing more is spent on it."""
        try:
            job = await jobs.cancel(job_id)
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        return _result(job.payload(), job.text())

    if status_tool:

        @tool(ToolAnnotations(read_only_hint=True))
        async def server_status() -> ServerStatus:
            """The server process's threads, asyncio tasks, resident memory and job table:
            for checking a long-running server, not for answering questions."""
            return ServerStatus(
                threads=threading.active_count(),
                asyncio_tasks=len(asyncio.all_tasks()),
                rss_bytes=resident_bytes(),
                jobs_running=len(jobs.running()),
                jobs_kept=len(jobs.jobs),
                jobs=[{"job_id": j.id, "consortium": j.consortium, "state": j.state} for j in jobs.jobs.values()],
            )

    return server


async def serve(tools: list[Any], status_tool: bool = False) -> None:
    """Serve until the client closes stdin; the lifespan cancels the runs still going."""
    await build(Jobs(on_idle=after_run), tools, status_tool).run_stdio_async()

"""`llm consortiums mcp`: the saved consortiums served to agents over MCP on stdio,
with the official SDK's high-level server (`mcp.server.MCPServer`, mcp 2.x).

The SDK's stdio transport points file descriptor 1 at stderr while it serves, so a
model plugin's stray print cannot corrupt the protocol. Every tool result is both
structured content (the fields of `consult.ConsultResult` or a job's progress) and
text. A consult waits at most `wait_seconds` (20 by default, well under the minute
after which common clients give up on a call) and then hands back a job id while
the run goes on; when the client goes away, every run still going is cancelled.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .consult import ConsultError, Request
from .jobs import Job, Jobs

DEFAULT_WAIT = 20.0  # seconds: common MCP clients abandon a call after 60-120 s
MOST_WAIT = 300.0

INSTRUCTIONS = (
    "Each tool here runs a consortium: several language models answer the same prompt and "
    "an arbiter (or a vote) combines their answers into one, with a confidence. Use "
    "list_consortiums to see which exist, consult to ask one. A consult that takes longer "
    "than wait_seconds returns a job_id at once; poll it with consult_result. Always read "
    "the status: only `complete` means every member answered and the arbiter judged."
)


def _result(payload: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=payload)


def _wait(seconds: float | None) -> float:
    return DEFAULT_WAIT if seconds is None else min(max(float(seconds), 0.0), MOST_WAIT)


async def _waited(job: Job, seconds: float | None, ctx: Context | None) -> CallToolResult:
    """Wait for `job` within the limit, sending progress notifications when the client
    asked for them (the SDK drops them otherwise), then its result or its progress."""

    async def report(events: int, line: str) -> None:
        if ctx is not None:
            await ctx.report_progress(events, None, line)

    await job.wait(_wait(seconds), report)
    return _result(job.payload(), job.text())


def _overview() -> dict[str, Any]:
    """Every saved consortium: members, arbiter, strategy, tiers, and what its logged
    runs have cost (the median of the latest priced ones), when known."""
    from ..saved.store import list_names, load

    rows: list[dict[str, Any]] = []
    costs = _typical_costs()
    for name in list_names():
        try:
            config = load(name)
        except Exception as ex:  # a broken file is listed as broken, never hides the rest
            rows.append({"name": name, "error": str(ex)})
            continue
        members = [f"{m.model_id} x{m.count}" if m.count > 1 else m.model_id for m in config.models]
        tiers = sorted({m.tier for m in config.models})
        rows.append({
            "name": name,
            "members": members,
            "arbiter": config.arbiter.model_id if config.arbiter else None,
            "strategy": config.effective_strategy,
            "tiers": len(tiers),
            "max_rounds": config.max_iterations,
            "typical_cost_usd": costs.get(name),
        })
    return {"consortiums": rows}


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


def _overview_text(overview: dict[str, Any]) -> str:
    lines = []
    for row in overview["consortiums"]:
        if "error" in row:
            lines.append(f"- {row['name']}: BROKEN ({row['error']})")
            continue
        cost = f"~${row['typical_cost_usd']:.4f} a run" if row["typical_cost_usd"] is not None else "cost unknown"
        arbiter = f"arbiter {row['arbiter']}" if row["arbiter"] else "no arbiter"
        lines.append(
            f"- {row['name']}: {', '.join(row['members'])}; {arbiter}; {row['strategy']}; "
            f"{row['tiers']} tier(s); up to {row['max_rounds']} rounds; {cost}"
        )
    return "\n".join(lines) or "No consortium is saved (llm consortiums create NAME -m MODEL ...)."


def build(jobs: Jobs, tools: list[Any]) -> MCPServer:
    """The server and its four tools; `tools` go to every consult's members."""
    server: MCPServer = MCPServer("llm-consortium", instructions=INSTRUCTIONS, log_level="WARNING")

    def tool(annotations: ToolAnnotations | None = None) -> Callable[[Any], Any]:
        # The docstring is the description a model reads: without Python's indentation.
        def add(fn: Any) -> Any:
            server.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""), annotations=annotations)
            return fn

        return add

    @tool(ToolAnnotations(read_only_hint=True))
    def list_consortiums() -> CallToolResult:
        """List the saved consortiums you can consult: each one's member models, its arbiter
        (the model that compares and merges their answers; none means the members vote),
        strategy, tiers (cheaper members asked first), most rounds, and the median cost in
        USD of its recent runs when prices are known."""
        overview = _overview()
        return _result(overview, _overview_text(overview))

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
            float | None, Field(description="Optional most USD this consult may spend (needs prices set)", ge=0)
        ] = None,
        wait_seconds: Annotated[
            float | None,
            Field(description=f"Seconds to wait for the answer before returning a job_id (default {DEFAULT_WAIT:g})"),
        ] = None,
    ) -> CallToolResult:
        """Ask a consortium: several models answer the prompt and an arbiter or a vote
        combines them. Returns the answer with its status (`complete`; `partial`: some
        members failed; `stopped`: the budget ended it early; `fallback`: the arbiter
        failed and a vote decided; `failed`: no answer), confidence, failed members,
        dissent, calls, tokens, cost and a run id. When the run takes longer than
        wait_seconds it returns a job_id at once and keeps running: call consult_result."""
        request = Request(consortium, prompt, system=system, schema=schema, max_usd=max_usd, tools=list(tools))
        try:
            from .consult import check

            check(request)
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        return await _waited(jobs.start(request), wait_seconds, ctx)

    @tool()
    async def consult_result(
        job_id: Annotated[str, Field(description="The job_id a consult returned")],
        ctx: Context,
        wait_seconds: Annotated[
            float | None, Field(description=f"Seconds to wait for it to finish (default {DEFAULT_WAIT:g})")
        ] = None,
    ) -> CallToolResult:
        """The result of a consult that returned a job_id, once it finishes within
        wait_seconds; else its progress so far (round, members answered) and the job_id
        to ask again."""
        try:
            job = jobs.get(job_id)
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        return await _waited(job, wait_seconds, ctx)

    @tool()
    async def cancel(job_id: Annotated[str, Field(description="The job_id of a running consult")]) -> CallToolResult:
        """Stop a running consult; nothing more is spent on it."""
        try:
            job = await jobs.cancel(job_id)
        except ConsultError as ex:
            raise ToolError(str(ex)) from ex
        return _result(job.payload(), job.text())

    return server


async def serve(tools: list[Any]) -> None:
    """Serve until the client closes stdin; then cancel the runs still going."""
    jobs = Jobs()
    try:
        await build(jobs, tools).run_stdio_async()
    finally:
        cancelled = await jobs.close()
        if cancelled:
            logging.getLogger(__name__).warning(
                "llm consortiums mcp: the client went away; cancelled %s running consult%s",
                cancelled, "" if cancelled == 1 else "s",
            )
            sys.stderr.flush()

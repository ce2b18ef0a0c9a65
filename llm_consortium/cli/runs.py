"""`llm consortiums runs` and `llm consortiums trace`: looking back at deliberations.

Kept apart from the management commands so the group only has to add these two;
reading the logs lives in `llm_consortium.history.logged_runs`, formatting in `render`, and
this module only turns options into calls and failures into one `Error:` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import RunsError
from ..history.logged_runs import Run, find_run, open_logs, recent_runs
from ..render import trace_html as trace_html
from ..render import trace_text as trace_text
from ..render.trace_phrases import confidence_text, partial_count, seconds
from ..text.terminal import inert, inert_json
from ..text.words import dollars
from . import fail

_database_option = click.option(
    "-d",
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path to a logs database (default: the one `llm logs path` shows)",
)


def _confidence_cell(row: dict[str, Any]) -> str:
    """`0.90`, or `0.40 < 0.90` for a run below its threshold."""
    shown = confidence_text(row["confidence"])
    return f"{shown} < {row['confidence_threshold']:.2f}" if row.get("below_threshold") else shown


def _row(run: Run) -> dict:
    """The run's summary with what it cost (when every price was known) and the calls
    its savings did not make."""
    usage = run.trace.get("usage") or {}
    saved = usage.get("calls_saved") or {}
    return {**run.row(), "cost_usd": usage.get("cost_usd"), "calls_saved": sum(saved.values())}


def _table(runs: list[Run]) -> str:
    header = [
        "ID", "TIME (UTC)", "CONSORTIUM", "STATUS", "ROUNDS", "CONFIDENCE",
        "MEMBERS OK/FAILED", "TOOL CALLS", "TOKENS IN/OUT", "COST", "SAVED", "DURATION",
    ]
    rows = [header]
    for run in runs:
        s = _row(run)
        rows.append(
            [
                s["id"],
                s["datetime_utc"][:19].replace("T", " "),
                inert(s["consortium"]),
                inert(s["status"]),
                str(s["rounds"]),
                _confidence_cell(s),
                f"{s['member_answers']}/{s['member_failures']}",
                str(s["tool_calls"]),
                f"{partial_count(*run.tokens('input'))}/{partial_count(*run.tokens('output'))}",
                dollars(s["cost_usd"]),
                str(s["calls_saved"]),
                seconds(s["duration_ms"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows)


@click.command(name="runs")
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="How many runs (0 for all)"
)
@click.option("--name", help="Only runs of this consortium")
@click.option("json_", "--json", is_flag=True, help="Output the runs as JSON")
@_database_option
def runs(limit: int, name: str | None, json_: bool, database: Path | None) -> None:
    """Recent consortium runs from the logs, newest first"""
    try:
        found = recent_runs(open_logs(database), limit, name)
    except RunsError as ex:
        raise fail(ex) from ex
    if json_:
        click.echo(inert_json([_row(run) for run in found]))
    elif not found:
        click.echo("No consortium runs logged" + (f" for {name}" if name else ""), err=True)
    else:
        click.echo(_table(found))


@click.command(name="trace")
@click.argument("response_id", required=False)
@click.option("--full", is_flag=True, help="Whole answers instead of their first lines")
@click.option("json_", "--json", is_flag=True, help="Output the raw trace as JSON")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the run as a self-contained HTML page to this file",
)
@_database_option
def trace(
    response_id: str | None, full: bool, json_: bool, html_file: Path | None, database: Path | None
) -> None:
    """How a consortium reached its answer, round by round

    RESPONSE_ID is the id `llm consortiums runs` or `llm logs` shows; without it, the
    latest run.
    """
    try:
        run = find_run(open_logs(database), response_id)
    except RunsError as ex:
        raise fail(ex) from ex
    if html_file is not None:
        try:
            html_file.write_text(trace_html.render(run), encoding="utf-8")
        except OSError as ex:
            raise fail(f"Cannot write {html_file}: {ex.strerror or ex}") from ex
        click.echo(f"Wrote the trace of {run.id} to {html_file}", err=True)
        return
    if json_:  # as it was stored: what the renderers read is `run.trace`
        click.echo(inert_json(run.stored))
        return
    click.echo(inert(trace_text.render(run, full=full)))


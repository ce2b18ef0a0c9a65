"""`llm consortiums eval NAME [NAME...] DATASET`: are these consortiums worth their price on my data?

This module only turns options into a plan and failures into one `Error:` line; the
work is in `evaluation/` (reading, running, scoring, reporting).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import DatasetError, StoreError
from ..evaluation.scorers import NAMES as SCORERS
from . import fail

EVAL_FORMAT = 3  # part of the stored results' key: a new result format runs afresh


def _participant(registry: Any, model_id: str, role: str) -> Any:
    """The baseline or the judge (`Registry.named_participant`), its error as one line."""
    import llm

    try:
        return registry.named_participant(model_id, role)
    except llm.ModelError as ex:
        raise fail(str(ex)[:1].upper() + str(ex)[1:]) from ex


def _prices(registry: Any, given: tuple[tuple[str, float, float], ...]) -> dict[str, tuple[float, float]]:
    """Prices by every name a priced model goes by (its id and its aliases): the
    user's price table (`llm consortiums prices`), then `--price` over it."""
    from ..saved import prices as price_table

    canonical = {name: model.model_id for name, model in registry.sync.items()}
    try:
        prices = price_table.for_models(canonical, price_table.load(), canonical)
    except StoreError as ex:
        raise fail(ex) from ex
    for model_id, price_in, price_out in given:
        for value in (price_in, price_out):
            if not_a_number(value):
                raise fail(f"--price {model_id}: {not_a_number(value)} is not a price; give USD per million tokens")
        if price_in < 0 or price_out < 0:
            raise fail(f"--price {model_id}: prices cannot be negative")
        if model_id not in canonical:
            raise fail(f"Unknown model {model_id!r} in --price")
        for name, target in canonical.items():
            if target == canonical[model_id]:
                prices[name] = (price_in, price_out)
    return prices


def not_a_number(value: float) -> str:
    """"NaN" or "infinity" when `value` is one (click reads both as floats, and
    every comparison with NaN is false, so a range check lets it through); else ""."""
    if math.isnan(value):
        return "NaN"
    return "infinity" if math.isinf(value) else ""


def _finite(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not_a_number(value):
        raise click.BadParameter(f"{not_a_number(value)} is not a tolerance; give a number, 0 or more")
    return value


def _logged_consortium(registry: Any, name: str) -> Any:
    """The consortium run through its llm model, each item's turn logged like
    `llm -m NAME` logs it (with the deliberation in response_json)."""
    import llm
    import sqlite_utils

    from ..errors import ConsortiumFailed
    from ..history.llm_internals import LogStore, logs_db_path

    model = registry.async_[name]
    opened: list[Any] = []

    def database() -> Any:
        # Opened on first use, in the thread that logs: the run goes on the sync path's
        # shared loop thread, and a sqlite connection stays in the thread that made it.
        if not opened:
            db = sqlite_utils.Database(logs_db_path())
            LogStore(db)  # creates or upgrades llm's tables, as llm itself does before logging
            opened.append(db)
        return opened[0]

    async def run(item: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"progress": False}
        if item.system:
            kwargs["system"] = item.system
        response = model.prompt(item.prompt, **kwargs)
        try:
            text = await response.text()
        except llm.ModelError as ex:
            raise ConsortiumFailed(str(ex)) from ex
        response.log_to_db(database())
        return {**response.response_json, "text": text}

    return run


def _entrant(registry: Any, config: Any, *, baseline: str | None, with_baseline: bool, log: bool) -> Any:
    """A consortium resolved for the eval: its participants and settings, its
    baseline model (`baseline`, else its default), and what its stored results
    depend on. Every failure is one `Error:` line, before any call."""
    import llm

    from ..adapter.models import ConsortiumOptions, settings_for, with_prices
    from ..adapter.participants import resolve
    from ..evaluation.runner import Entrant
    from ..evaluation.side_by_side import default_baseline

    try:
        members, arbiter = resolve(config, registry=registry)
        # the price table, for a money budget and the usage's cost
        settings = with_prices(settings_for(config, ConsortiumOptions()), members, arbiter)
    except (ValueError, llm.ModelError) as ex:
        raise fail(ex) from None
    return Entrant(
        config.name, members, arbiter, settings,
        system_prompt=config.system_prompt,
        baseline=_participant(registry, baseline or default_baseline(config), "baseline") if with_baseline else None,
        consortium=_logged_consortium(registry, config.name) if log else None,
        identity=config.model_dump(mode="json"),
        member_identity={
            m.model_id: {"options": m.options, "call_mode": getattr(config, "call_mode", None)} for m in config.models
        },
    )


@click.command(name="eval")
@click.argument("names", nargs=-1, required=True, metavar="NAME [NAME...]")
@click.argument("dataset_path", metavar="DATASET")
@click.option("--prompt-field", default="prompt", show_default=True, help="Field (or CSV column) holding the prompt")
@click.option("--expected-field", default="expected", show_default=True, help="Field holding the expected answer")
@click.option("--system-field", default="system", show_default=True, help="Optional per-item system prompt field")
@click.option("-n", "--limit", type=click.IntRange(min=1), help="Evaluate only the first N items (after --sample)")
@click.option("--sample", type=click.IntRange(min=1), help="Evaluate N items drawn at random")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for --sample")
@click.option("--scorer", type=click.Choice(SCORERS), help="How answers are checked (default: exact)")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.0, callback=_finite,
              help="Absolute tolerance for --scorer number")
@click.option("--judge", "judge_model", help="Model that grades answers for --scorer judge")
@click.option("--baseline", help="Model for the same-budget vote (default: the arbiter, else the first member)")
@click.option("--no-members", is_flag=True, help="Do not score each member alone")
@click.option("--no-baseline", is_flag=True, help="Do not score the same-budget baseline")
@click.option("prices", "--price", multiple=True, type=(str, float, float), metavar="MODEL INPUT OUTPUT",
              help="USD per million input and output tokens for MODEL (repeatable)")
@click.option("json_", "--json", is_flag=True, help="Output the report as JSON")
@click.option("html_path", "--html", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report")
@click.option("--resume", is_flag=True, help="Reuse results stored by an earlier run of the same eval")
@click.option("--parallel", type=click.IntRange(min=1), default=4, show_default=True, help="Items evaluated at once")
@click.option("--log", is_flag=True, help="Log each item's consortium turn to llm's logs")
def eval_(
    names: tuple[str, ...], dataset_path: str, prompt_field: str, expected_field: str, system_field: str,
    limit: int | None, sample: int | None, seed: int, scorer: str | None, tolerance: float,
    judge_model: str | None, baseline: str | None, no_members: bool, no_baseline: bool,
    prices: tuple[tuple[str, float, float], ...], json_: bool, html_path: Path | None, resume: bool,
    parallel: int, log: bool,
) -> None:
    """
    Score consortiums against their members and a same-budget vote on a dataset

    DATASET is a JSONL or CSV file with a prompt and an expected answer per item.
    Every item goes to each consortium, to each distinct member alone (once, however
    many consortiums list it) and to a baseline per consortium that asks one model as
    many times as that consortium called members, voting on the answers. The report
    gives each system's accuracy with a 95% interval, calls, tokens, cost and
    latency, and compares each consortium item by item with its best member, its
    baseline and the other consortiums (paired difference, McNemar p-value).

    \b
        llm consortiums eval my-consortium questions.jsonl
        llm consortiums eval voters arbitrated questions.jsonl
        llm consortiums eval my-consortium mmlu.csv --scorer choice --sample 50
        llm consortiums eval my-consortium qa.jsonl --judge gpt-4o --html report.html
        llm consortiums eval my-consortium qa.jsonl --price gpt-4o 2.5 10 --resume
    """
    import llm

    from ..adapter.loop import run_sync
    from ..adapter.participants import Registry
    from ..evaluation import dataset as datasets
    from ..evaluation import figures, report_html, table
    from ..evaluation.bar import Bar, warnings_through
    from ..evaluation.judge_scoring import Scoring
    from ..evaluation.result_store import FILE_NAME, ResultStore, digest
    from ..evaluation.runner import Plan, Runner
    from ..evaluation.scorers import check_expected
    from ..saved import store

    scorer = scorer or ("judge" if judge_model else "exact")
    if scorer == "judge" and not judge_model:
        raise fail("--scorer judge needs --judge MODEL")
    if judge_model and scorer != "judge":
        raise fail(f"--judge only applies to --scorer judge, not {scorer}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise fail(f"Consortium {repeated[0]!r} is named twice")
    configs = []
    for name in names:
        try:
            configs.append(store.load(name))
        except (StoreError, ValueError) as ex:
            raise fail(ex) from None
    try:
        data = datasets.load(
            dataset_path, prompt_field=prompt_field, expected_field=expected_field, system_field=system_field
        )
    except DatasetError as ex:
        raise fail(ex) from None
    for item in data.items:
        problem = check_expected(scorer, item.expected)
        if problem:
            raise fail(f"{data.path} line {item.line}: {problem} (--scorer {scorer})")
    items = datasets.subset(data.items, limit=limit, sample=sample, seed=seed)
    if html_path is not None and not html_path.resolve().parent.is_dir():
        # found out now, not after an hour of calls
        raise fail(f"Cannot write {html_path}: no directory {str(html_path.parent)!r}")

    registry = Registry()
    entrants = [
        _entrant(registry, config, baseline=baseline, with_baseline=not no_baseline, log=log) for config in configs
    ]
    judge = _participant(registry, judge_model, "judge") if judge_model else None
    price_table = _prices(registry, prices)
    plan = Plan(entrants, include_members=not no_members)
    # What every stored answer depends on besides the item's content and the system's
    # own settings: the result format and which fields the prompt was read from.
    settings_key = digest({"format": EVAL_FORMAT, "fields": [prompt_field, system_field]})
    try:
        results = ResultStore(llm.user_dir() / FILE_NAME)
    except OSError as ex:
        raise fail(ex) from None
    scoring = Scoring(scorer, tolerance=tolerance, judge=judge, settings=entrants[0].settings, store=results,
                      reuse=resume)
    bar = Bar(len(items))
    runner = Runner(
        plan, settings_key=settings_key, scoring=scoring, store=results,
        resume=resume, parallel=parallel, progress=bar,
    )
    try:
        with warnings_through(bar):  # each run's warning names its system and item
            rows = run_sync(lambda: runner.run(items))
    except KeyboardInterrupt:
        bar.close()
        results.close()
        click.echo(
            f"Interrupted. {runner.stored + runner.reused} finished results are stored; "
            "run the same command with --resume to continue.",
            err=True,
        )
        sys.exit(130)
    bar.close()
    results.close()
    if runner.reused:
        click.echo(f"Reused {runner.reused} stored results (--resume).", err=True)

    built = figures.build(
        consortiums=list(names), dataset=data.path, items=len(items),
        systems=[s.as_dict() for s in plan.systems()], rows=rows, prices=price_table,
        scorer=scorer, judge=scoring.usage.as_dict() if scoring.usage else None,
    )
    if html_path is not None:
        page = report_html.render(built, [vars(item) for item in items])
        try:
            html_path.write_text(page, encoding="utf-8")
        except OSError as ex:
            raise fail(f"Cannot write {html_path}: {ex.strerror or ex}") from None
        click.echo(f"Wrote {html_path}", err=True)
    click.echo(json.dumps(built, indent=2) if json_ else table.render(built))

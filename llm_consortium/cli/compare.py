"""`llm consortiums compare NAME PROMPT`: the command; what it computes is in
`llm_consortium.evaluation.side_by_side`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from ..errors import StoreError
from . import fail


@click.command()
@click.argument("name")
@click.argument("prompt")
@click.option("--baseline", help="Model for the same-budget vote (default: the arbiter, else the first member)")
@click.option("json_", "--json", is_flag=True, help="Output the comparison as JSON")
def compare(name: str, prompt: str, baseline: str | None, json_: bool) -> None:
    """
    Run a consortium, each member alone, and a same-budget vote of one model

    The baseline asks one model as many times as the consortium made member
    calls and votes on its answers. Every answer is printed with its token cost.

    \b
        llm consortiums compare my-consortium "What causes the seasons?"
        llm consortiums compare my-consortium "2+2?" --baseline gpt-4o-mini --json
    """
    import llm

    from ..adapter.loop import run_sync
    from ..adapter.models import ConsortiumOptions, settings_for, with_prices
    from ..adapter.participants import Registry, resolve
    from ..evaluation.side_by_side import compare_runs, default_baseline, render
    from ..saved import store
    from ..text.terminal import inert, inert_json
    from ..types import Call

    try:
        config = store.load(name)
        registry = Registry()
        members, arbiter = resolve(config, registry=registry)
        baseline_model = registry.named_participant(baseline or default_baseline(config), "baseline")
    except (StoreError, ValueError, llm.ModelError) as ex:
        raise fail(ex) from ex
    try:  # prices for the cost column; a money budget needs them all
        settings = with_prices(settings_for(config, ConsortiumOptions()), [*members, baseline_model], arbiter)
    except llm.ModelError as ex:
        raise fail(ex) from ex
    request = Call(prompt, config.system_prompt)
    columns = run_sync(
        lambda: compare_runs(request, members, arbiter, settings, baseline_model, name=name)
    )
    if json_:
        payload: dict[str, Any] = {
            "consortium": name,
            "prompt": prompt,
            "columns": [asdict(column) for column in columns],
        }
        click.echo(inert_json(payload))
    else:
        click.echo(inert(render(columns)))

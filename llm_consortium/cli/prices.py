"""`llm consortiums prices`: the user's price table (set, list, remove).

The table itself lives in `saved.prices`; this module turns its failures into one
`Error:` line. A DefaultGroup like llm's own `aliases`: `prices` alone lists.
"""

from __future__ import annotations

import click
from click_default_group import DefaultGroup

from ..errors import StoreError
from ..saved import prices as table
from ..text.terminal import inert, inert_json
from . import fail


def _load() -> table.Prices:
    try:
        return table.load()
    except StoreError as ex:
        raise fail(ex) from ex


@click.group(cls=DefaultGroup, default="list", default_if_no_args=True)
def prices() -> None:
    """Model prices in USD per million tokens, for costs and money budgets

    Example usage:

    \b
        llm consortiums prices set gpt-4o-mini 0.15 0.60
        llm consortiums prices
    """


@prices.command(name="list")
@click.option("json_", "--json", is_flag=True, help="Output the prices as JSON")
def list_(json_: bool) -> None:
    """List the prices you have set"""
    found = _load()
    if json_:
        click.echo(inert_json({m: {"input": i, "output": o} for m, (i, o) in sorted(found.items())}))
        return
    if not found:
        click.echo("No prices set: add one with 'llm consortiums prices set MODEL INPUT OUTPUT'", err=True)
        return
    width = max(len(model) for model in found)
    for model, (price_in, price_out) in sorted(found.items()):
        click.echo(inert(f"{model:<{width}} : input ${price_in:g}, output ${price_out:g} per 1M tokens"))


@prices.command(name="set")
@click.argument("model_id")
@click.argument("price_in", metavar="INPUT", type=float)
@click.argument("price_out", metavar="OUTPUT", type=float)
def set_(model_id: str, price_in: float, price_out: float) -> None:
    """Set MODEL's price: USD per million INPUT and OUTPUT tokens

    Any name of the model works (its id or an alias); a price set for one counts for all.
    """
    try:
        table.set_price(model_id, price_in, price_out)
    except (ValueError, StoreError) as ex:
        raise fail(str(ex)[:1].upper() + str(ex)[1:]) from ex
    click.echo(inert(f"{model_id}: input ${price_in:g}, output ${price_out:g} per 1M tokens"), err=True)


@prices.command(name="remove")
@click.argument("model_id")
def remove(model_id: str) -> None:
    """Forget MODEL's price"""
    try:
        removed = table.remove(model_id)
    except StoreError as ex:
        raise fail(ex) from ex
    if not removed:
        raise fail(f"No price set for {model_id!r}")

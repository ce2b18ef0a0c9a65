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


_FOLLOW = click.option(
    "--follow-symlinks", is_flag=True, help="Write through a symlink to a file outside the llm user dir"
)


# A negative price (`set alpha -1 5`) reaches the price check, which says what a price
# may be, instead of click's "No such option '-1'".
@prices.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("model_id")
@click.argument("price_in", metavar="INPUT", type=float)
@click.argument("price_out", metavar="OUTPUT", type=float)
@_FOLLOW
@click.option("--force", is_flag=True, help="Save the price even for a model llm does not know")
def set_(model_id: str, price_in: float, price_out: float, follow_symlinks: bool, force: bool) -> None:
    """Set MODEL's price: USD per million INPUT and OUTPUT tokens

    Any name of the model works (its id or an alias); a price set for one counts for all.
    A name llm does not know (a typo?) is refused, naming the close ones; --force
    saves it anyway.
    """
    try:
        table.check_price(model_id, price_in, price_out)
    except ValueError as ex:
        raise fail(str(ex)[:1].upper() + str(ex)[1:]) from ex
    if not force:
        _refuse_unknown(model_id)
    try:
        table.set_price(model_id, price_in, price_out, follow_symlinks=follow_symlinks)
    except (ValueError, StoreError) as ex:
        raise fail(str(ex)[:1].upper() + str(ex)[1:]) from ex
    click.echo(inert(f"{model_id}: input ${price_in:g}, output ${price_out:g} per 1M tokens"), err=True)


def _refuse_unknown(model_id: str) -> None:
    """A name no installed model (or embedding model) goes by is a typo until the user
    says otherwise: one line naming the close names (difflib), and --force."""
    import difflib

    import llm

    known = {*llm.get_model_aliases(), *llm.get_embedding_model_aliases()}
    if model_id in known:
        return
    close = difflib.get_close_matches(model_id, sorted(known), n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise fail(
        f"llm knows no model named {model_id!r}: its price would never be used.{hint} "
        "Use --force to save it anyway"
    )


@prices.command(name="remove")
@click.argument("model_id")
@_FOLLOW
def remove(model_id: str, follow_symlinks: bool) -> None:
    """Forget MODEL's price"""
    try:
        removed = table.remove(model_id, follow_symlinks=follow_symlinks)
    except StoreError as ex:
        raise fail(ex) from ex
    if not removed:
        raise fail(f"No price set for {model_id!r}")

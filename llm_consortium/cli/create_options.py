"""`create`'s options made from the settings table, and what they become in the
consortium's file: what it spends (tiers, agreement, the arbiter skip, waves and the
budgets; docs/savings.md) and how its vote matches answers (docs/matching.md).

Kept apart from `manage` so `create` gains one decorator per group of options and one
call each: the options arrive as keyword arguments, and `spending_fields` and
`matching_fields` turn them into config fields, refusing bad input in one line
before anything is saved. A setting's flag is made from the settings table
(`setting_option`), so its type, default and help are the ones `-o` and the file have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click
import llm

from ..settings_spec import BY_NAME
from . import fail

F = TypeVar("F", bound=Callable[..., Any])

_CLICK_TYPES: dict[type, Any] = {int: int, float: float, str: str}


def setting_option(name: str, **extra: Any) -> Callable[[F], F]:
    """`create`'s flag for setting `name`, made from the settings table: its flag,
    type, default and help. Its range is checked with the rest of the file's, so a
    bad value's error names the flag (`settings_spec.FLAGS`)."""
    setting = BY_NAME[name]
    assert setting.flag is not None, name
    flags = setting.flag.split("/")
    if setting.kind is bool:
        return click.option(*flags, setting.name, is_flag=True, help=setting.described, **extra)
    kind = click.Choice(setting.choices) if setting.choices else _CLICK_TYPES[setting.kind]
    default = {"default": setting.default, "show_default": True} if setting.default is not None else {}
    return click.option(*flags, setting.name, type=kind, help=setting.described, **default, **extra)


_SPENDING = [
    click.option("--tier", "tiers", type=(str, click.IntRange(min=1, max=9)), multiple=True, metavar="MODEL N",
                 help="Put member MODEL in tier N (default 1); a higher tier answers only when lower ones disagree"),
    setting_option("agreement"),
    click.option("--always-arbiter", is_flag=True, help="Ask the arbiter even when every member agrees"),
    setting_option("waves"),
    setting_option("budget_tokens"),
    setting_option("budget_usd"),
]

# The keyword arguments the spending options add to a command.
SPENDING_KEYS = ("tiers", "agreement", "always_arbiter", "waves", "budget_tokens", "budget_usd")


def spending_options(command: F) -> F:
    """Add the spending options to `command` (they arrive as keyword arguments)."""
    for option in reversed(_SPENDING):
        command = option(command)
    return command


def tier_of(spending: dict[str, Any], members: Iterable[str], identity: Callable[[str], str]) -> dict[str, int]:
    """Each `--tier MODEL N` as {model identity: N}; a MODEL that is not a member is
    refused in one line (a tier of the arbiter or a typo would silently do nothing)."""
    known = {identity(model_id) for model_id in members}
    for model_id, _ in spending["tiers"]:
        if identity(model_id) not in known:
            raise fail(f"--tier {model_id}: not a member of this consortium")
    return {identity(model_id): tier for model_id, tier in spending["tiers"]}


def spending_fields(spending: dict[str, Any]) -> dict[str, Any]:
    """The ConsortiumConfig fields the spending options set (tiers go on members)."""
    return {
        "agreement": spending["agreement"],
        "skip_arbiter_on_agreement": not spending["always_arbiter"],
        "waves": spending["waves"],
        "budget_tokens": spending["budget_tokens"],
        "budget_usd": spending["budget_usd"],
    }


_MATCHING = ("matching", "matching_model", "matching_tolerance", "matching_threshold")


def matching_options(command: F) -> F:
    """Add --matching, --matching-model, --matching-tolerance, --matching-threshold."""
    for name in reversed(_MATCHING):
        command = setting_option(name)(command)
    return command


def matching_fields(values: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """The config fields for the matching options given; a `semantic` model that is a
    chat model rather than an embedding model is refused here, in one line."""
    model = values.get("matching_model")
    if values.get("matching") == "semantic" and model:
        try:
            llm.get_embedding_model(model)
        except llm.UnknownModelError:
            where = "a chat model" if model in known else "not an installed embedding model"
            raise fail(f"--matching-model {model!r} is {where}; semantic matching needs an embedding model "
                       "('llm embed-models' lists them)") from None
    return {key: value for key, value in values.items() if value is not None}

"""The `create` options that decide what a consortium spends: tiers, agreement,
the arbiter skip, waves and the budgets (see docs/savings.md).

Kept apart from `manage` so `create` only gains one decorator and one call: the
options arrive as `**spending` and `config_fields` turns them into config fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from . import fail

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option("--tier", "tiers", type=(str, click.IntRange(min=1, max=9)), multiple=True, metavar="MODEL N",
                 help="Put member MODEL in tier N (default 1); a higher tier answers only when lower ones disagree"),
    click.option("--agreement", type=float, default=1.0, show_default=True,
                 help="Share of agreeing answers (0-1) below which the next tier is asked"),
    click.option("--always-arbiter", is_flag=True, help="Ask the arbiter even when every member agrees"),
    click.option("--waves", is_flag=True, help="Call a vote's members in waves: fewer calls, more latency"),
    click.option("--budget-tokens", type=int, help="Most tokens one prompt may spend, every call counted"),
    click.option("--budget-usd", type=float, help="Most USD one prompt may spend (llm consortiums prices)"),
]

# The keyword arguments these options add to a command.
SPENDING_KEYS = ("tiers", "agreement", "always_arbiter", "waves", "budget_tokens", "budget_usd")

# Which flag set each config field, so a validation error points at the flag.
SPENDING_FLAGS = {"agreement": "--agreement", "budget_tokens": "--budget-tokens", "budget_usd": "--budget-usd"}


def spending_options(command: F) -> F:
    """Add the spending options to `command` (they arrive as keyword arguments)."""
    for option in reversed(_OPTIONS):
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


def config_fields(spending: dict[str, Any]) -> dict[str, Any]:
    """The ConsortiumConfig fields the spending options set (tiers go on members)."""
    return {
        "agreement": spending["agreement"],
        "skip_arbiter_on_agreement": not spending["always_arbiter"],
        "waves": spending["waves"],
        "budget_tokens": spending["budget_tokens"],
        "budget_usd": spending["budget_usd"],
    }

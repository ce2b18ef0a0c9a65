"""The `llm consortiums` command group, loaded lazily.

llm builds its whole command tree on every run, so this module imports nothing but
click: each subcommand's module is imported only when that subcommand is used.
"""

from __future__ import annotations

import importlib

import click
from click_default_group import DefaultGroup

# Subcommand name -> (module, attribute) holding its click command, in help order.
_COMMANDS = {
    "create": ("manage", "create"),
    "list": ("manage", "list_"),
    "show": ("manage", "show"),
    "edit": ("edit", "edit"),
    "delete": ("manage", "delete"),
    "path": ("manage", "path_"),
    "runs": ("runs", "runs"),
    "trace": ("runs", "trace"),
    "compare": ("compare", "compare"),
    "eval": ("eval", "eval_"),
    "prices": ("prices", "prices"),
    "mcp": ("mcp", "mcp_command"),
}


def fail(message: object) -> click.ClickException:
    """A ClickException whose message is guaranteed to be a single line: every
    subcommand's errors end as one `Error:` line, with any model or file text in
    it made inert for the terminal."""
    from ..text.terminal import inert

    return click.ClickException(" ".join(inert(message).split()))


class _LazyGroup(DefaultGroup):
    """A DefaultGroup whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(f"{__name__}.{target[0]}")
        return getattr(module, target[1])


@click.group(cls=_LazyGroup, default="list", default_if_no_args=True)
def consortiums() -> None:
    "Manage saved consortiums (each one is also an llm model)"

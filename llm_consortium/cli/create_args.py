"""What `create` makes of its command-line strings: the name (asked again at a
terminal until it is valid and free), `-m MODEL:N` counts, and `-o` values checked
against the installed model's Options."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import click
import llm

from ..errors import InvalidName, OptionError
from ..saved import options as model_options
from ..saved import store
from ..saved.names import check_name
from ..text.terminal import inert
from . import fail


def is_own(model: llm.Model) -> bool:
    """A consortium model registered by this plugin (replaceable with --force)."""
    return isinstance(getattr(model, "consortium_name", None), str)


# What follows the last colon when it was meant as a count: -1, +2, 1.5, 0, or nothing.
_COUNT_LIKE = re.compile(r"\s*[+-]?[\d.]*\s*")


def split_member(spec: str, known: Mapping[str, llm.Model]) -> tuple[str, int]:
    """`-m MODEL:N` -> (MODEL, N); a spec that is itself a known model id stays whole,
    because ids such as `llama3.2:3b` contain colons of their own. A count that is not
    a whole number of at least 1 (`m1:-1`, `m1:0`, `m1:1.5`, `m1:`) is refused rather
    than saved as a model id that cannot exist."""
    if spec in known:
        return spec, 1
    model_id, colon, count = spec.rpartition(":")
    if colon and model_id and count.isascii() and count.isdigit() and int(count) >= 1:
        return model_id, int(count)
    if colon and model_id and _COUNT_LIKE.fullmatch(count):
        raise fail(f"-m {spec}: the number of instances after the colon must be a whole number, at least 1")
    return spec, 1


def prompted_name(value: str) -> str:
    """The interactive name prompt's check: click shows the error and asks again."""
    try:
        return check_name(value.strip())
    except InvalidName as ex:
        raise click.UsageError(str(ex)) from ex


def guess_value(value: str) -> Any:
    """An option value for a model that is not installed, so has no Options to check
    against: JSON scalars and structures (0.5, 2, true, null, [..]) become typed
    values, anything else stays a string. The model validates them when it runs."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def checked_options(
    model_id: str, raw: dict[str, str], model: llm.Model | None
) -> dict[str, Any]:
    """Validate `-o` values against the installed model's Options (the check every
    read of the file makes too) and keep the coerced values, so the YAML holds 0.5
    rather than "0.5"."""
    if model is None:
        return {key: guess_value(value) for key, value in raw.items()}
    try:
        return model_options.checked(model_id, raw, model)
    except OptionError as ex:
        raise fail(ex) from ex


def name_problem(name: str, force: bool, known: Mapping[str, llm.Model], aliases: Mapping[str, str]) -> str | None:
    """Why `name` cannot be created (a consortium of that name without --force, a
    model id or alias it would shadow), or None."""
    path = store.path_for(name)
    if path.exists() and not force:
        return f"Consortium {name!r} already exists ({path}); use --force to replace it"
    taken = known.get(name)
    # Only this consortium's own registration may be replaced: an alias that points
    # at another consortium (or at anything, even not installed) would be shadowed.
    target = aliases.get(name, taken.model_id if taken is not None else None)
    if target is not None and not (taken is not None and is_own(taken) and taken.model_id == name):
        return f"{name!r} is already a model id or alias (for {target}); a consortium with that name would shadow it"
    return None


def asked_name(force: bool, known: Mapping[str, llm.Model], aliases: Mapping[str, str]) -> str:
    """A name typed at the prompt, asked again until it is valid and free."""
    while True:
        name = click.prompt("Consortium name", value_proc=prompted_name)
        problem = name_problem(name, force, known, aliases)
        if problem is None:
            return str(name)
        click.echo(f"Error: {inert(problem)}", err=True)

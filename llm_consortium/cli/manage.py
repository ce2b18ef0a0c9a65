"""The management commands: create, list, show, edit, delete and path.

The commands are thin: the name rule and validation live in `config`, files in
`store`. What this module adds is turning command-line strings into a config
(MODEL:N counts, -o options checked against the installed model) and turning every
failure into one `Error:` line with a non-zero exit.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import click
import llm
from pydantic import ValidationError

from ..errors import InvalidName, StoreError
from ..saved import options as model_options
from ..saved import store
from ..saved.config import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_MIN_ITERATIONS,
    ArbiterConfig,
    ConsortiumConfig,
    MemberConfig,
    check_name,
    explain,
)
from ..saved.cycles import configured_aliases, find_cycle, users_of
from ..settings_spec import FLAGS
from ..text.terminal import inert, inert_json
from ..text.words import naming
from . import create_args, fail
from .create_options import (
    SPENDING_KEYS,
    matching_fields,
    matching_options,
    spending_fields,
    spending_options,
    tier_of,
)

# `list` pads names to line up its rows, but no wider than this.
NAME_COLUMN = 24

# The flag with which `create --force` writes through a symlink out of the folder.
_FOLLOW_FLAG = "--force --follow-symlinks"

# Which create flag set each config field, so a validation error points at the flag.
_FLAG_FOR_FIELD = {"confidence_threshold": "-t/--threshold", "max_iterations": "-i/--iterations",
                   "min_iterations": "--min-iterations", **FLAGS}


def _checked_name(name: str) -> str:
    """Apply the name rule before any file is touched."""
    try:
        return check_name(name)
    except InvalidName as ex:
        raise fail(ex) from ex


def _load(name: str) -> ConsortiumConfig:
    """Load for a command: a bad name, a missing or broken file become one error line."""
    try:
        return store.load(_checked_name(name))
    except StoreError as ex:
        raise fail(ex) from ex


def _stdin_is_terminal() -> bool:
    """Whether a person can answer a prompt; scripts must never hang on one."""
    return sys.stdin is not None and sys.stdin.isatty()


@click.command(name="create")
@click.argument("name_argument", metavar="[NAME]", required=False)
@click.option("-n", "--name", help="Name of the consortium (or give NAME)")
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    required=True,
    help="Member model, repeatable; MODEL:N asks it N times",
)
@click.option("-a", "--arbiter", help="Model that writes the final answer")
@click.option(
    "--strategy",
    type=click.Choice(["arbiter", "vote"]),
    help="How the answer is chosen (default: arbiter with -a, else vote)",
)
@click.option("-t", "--threshold", type=float, default=DEFAULT_CONFIDENCE_THRESHOLD, show_default=True,
              help="Confidence (0-1) at which to stop iterating")
@click.option("-i", "--iterations", type=int, default=DEFAULT_MAX_ITERATIONS, show_default=True,
              help="Maximum iterations")
@click.option("--min-iterations", type=int, default=DEFAULT_MIN_ITERATIONS, show_default=True,
              help="Minimum iterations")
@click.option("-s", "--system", help="System prompt for every member and the arbiter")
@click.option(
    "-o",
    "--option",
    "options",
    type=(str, str, str),
    multiple=True,
    metavar="MODEL KEY VALUE",
    help="Option for MODEL wherever it appears in this consortium, repeatable",
)
@click.option("--max-concurrent", type=(str, click.IntRange(min=1)), multiple=True, metavar="MODEL N",
              help="At most N calls to MODEL at once (default: 1 for sync-only models), repeatable")
@click.option("--call-mode", type=click.Choice(["auto", "thread", "async"]), default="auto", show_default=True,
              help="How member calls run: a model's sync implementation in threads, or its async one")
@spending_options
@click.option("--review", is_flag=True, help="Members rank each other's answers before each round is decided")
@click.option("--force", is_flag=True, help="Replace an existing consortium")
@click.option("--follow-symlinks", is_flag=True,
              help="With --force, write through a symlink to a file outside the consortiums folder")
@matching_options
def create(
    name_argument: str | None,
    name: str | None,
    models: tuple[str, ...],
    arbiter: str | None,
    strategy: Literal["arbiter", "vote"] | None,
    threshold: float,
    iterations: int,
    min_iterations: int,
    system: str | None,
    options: tuple[tuple[str, str, str], ...],
    max_concurrent: tuple[tuple[str, int], ...],
    call_mode: Literal["auto", "thread", "async"],
    review: bool,
    force: bool,
    follow_symlinks: bool,
    **extra: Any,
) -> None:
    """
    Create a consortium and save it as a YAML file

    Example usage:

    \b
        llm consortiums create my-consortium \\
          -m gpt-4o-mini:2 -m claude-3.5-haiku -a gpt-4o \\
          -o gpt-4o-mini temperature 0.7
    """
    # The spending and matching options arrive as keyword arguments (`create_options`).
    spending = {key: extra.pop(key) for key in SPENDING_KEYS}
    matching = extra
    if name is not None and name_argument is not None and name != name_argument:
        raise fail(f"Two different names given: {name_argument!r} and -n {name!r}")
    name = name if name is not None else name_argument
    if name is None and not _stdin_is_terminal():
        raise fail("Missing consortium name: give NAME or -n/--name")
    if name is not None:
        name = _checked_name(name)
        if store.path_for(name).exists() and not force:
            raise fail(create_args.name_problem(name, force, {}, {}))
    # One call: each one runs every plugin's register_models hook.
    known = llm.get_model_aliases()
    aliases = configured_aliases()
    if name is None:  # a person at a terminal: asked until the name is valid and free
        name = create_args.asked_name(force, known, aliases)
    problem = create_args.name_problem(name, force, known, aliases)
    if problem is not None:
        raise fail(problem)
    path = store.path_for(name)
    try:
        store.write_target(name, follow_symlinks=follow_symlinks, flag=_FOLLOW_FLAG)
    except StoreError as ex:
        raise fail(ex) from ex

    def identity(model_id: str) -> str:
        """Aliases and ids of one model are the same model, for -o and for loops:
        registered ones, and aliases whose target is not registered (yet)."""
        if model_id in known:
            return known[model_id].model_id
        return aliases.get(model_id, model_id)

    members = [create_args.split_member(spec, known) for spec in models]
    used = [model_id for model_id, _ in members] + ([arbiter] if arbiter else [])
    for model_id in used:
        if identity(model_id) == name:
            raise fail(f"Consortium {name!r} cannot include itself")
    for model_id in dict.fromkeys(used):
        if model_id not in known:
            click.echo(
                f"Warning: {model_id!r} is not an installed model; "
                "it will be used once it is installed",
                err=True,
            )

    targets = {identity(model_id) for model_id in used}
    raw: dict[str, dict[str, str]] = {}
    for model_id, key, value in options:
        if identity(model_id) not in targets:
            raise fail(f"-o {model_id}: not a member or the arbiter of this consortium")
        raw.setdefault(identity(model_id), {})[key] = value
    checked = {
        target: create_args.checked_options(target, values, known.get(target))
        for target, values in raw.items()
    }
    for model_id, _ in max_concurrent:
        if identity(model_id) not in targets:
            raise fail(f"--max-concurrent {model_id}: not a member or the arbiter of this consortium")
    caps = {identity(model_id): limit for model_id, limit in max_concurrent}
    tiers = tier_of(spending, (model_id for model_id, _ in members), identity)

    try:
        config = ConsortiumConfig(
            name=name,
            models=[
                MemberConfig(
                    model_id=model_id,
                    count=count,
                    options=checked.get(identity(model_id), {}),
                    max_concurrent=caps.get(identity(model_id)),
                    tier=tiers.get(identity(model_id), 1),
                )
                for model_id, count in members
            ],
            arbiter=(
                ArbiterConfig(model_id=arbiter, options=checked.get(identity(arbiter), {}),
                              max_concurrent=caps.get(identity(arbiter)))
                if arbiter
                else None
            ),
            call_mode=call_mode,
            confidence_threshold=threshold,
            max_iterations=iterations,
            min_iterations=min_iterations,
            system_prompt=system,
            strategy=strategy,
            **matching_fields(matching, known),
            review=review,
            **spending_fields(spending),
        )
    except ValidationError as ex:
        raise fail(f"Invalid consortium: {explain(ex, _FLAG_FOR_FIELD)}") from ex
    loop = find_cycle(config, known, aliases)
    if loop:
        click.echo(
            f"Warning: consortium cycle {' -> '.join(loop)}; "
            f"{name!r} will refuse to run until it is broken",
            err=True,
        )
    from . import create_checks

    for warning in create_checks.warnings(config, known):
        click.echo(f"Warning: {warning}", err=True)
    replaced = force and path.exists()
    try:
        # Without --force the write itself refuses an existing file: two creates of
        # one name at the same moment cannot both succeed.
        written = store.save(config, replace=force, follow_symlinks=follow_symlinks, flag=_FOLLOW_FLAG)
    except StoreError as ex:
        raise fail(ex) from ex
    verb = "Replaced" if replaced else "Created"
    click.echo(f"{verb} consortium {name!r}: {written}")


def _as_json(config: ConsortiumConfig, registry: Any) -> dict[str, Any]:
    """The whole config with every default filled in, the strategy included: the one
    in effect (`arbiter` with an arbiter, else `vote`) when the file names none, and
    each model's limit group (the one its calls count in, when the file names none)."""
    shown = {**config.model_dump(mode="json"), "strategy": config.effective_strategy}
    for entry in [*shown["models"], *([shown["arbiter"]] if shown["arbiter"] else [])]:
        entry["limit_group"] = registry.limit_group(entry["model_id"], entry["limit_group"])
    return shown


@click.command(name="list")
@click.option("json_", "--json", is_flag=True, help="Output the full configs as JSON")
def list_(json_: bool) -> None:
    """
    List saved consortiums; broken files are listed with the reason

    Example usage:

    \b
        llm consortiums list --json
    """
    rows: list[tuple[str, ConsortiumConfig | None, str]] = []
    known: dict[str, llm.Model] | None = None
    for name in store.list_names():
        try:
            config = store.load(name)
        except StoreError as ex:
            rows.append((name, None, " ".join(str(ex).split())))
            continue
        if any(entry.options for entry in [*config.models, config.arbiter] if entry is not None):
            known = llm.get_model_aliases() if known is None else known  # once, and only if needed
            problem = model_options.problem(config, known)
            if problem is not None:
                rows.append((name, None, f"{store.path_for(name)}: {problem}"))
                continue
        rows.append((name, config, ""))
    if json_:
        from ..adapter.participants import Registry

        registry = Registry()  # one registration pass for every consortium's models
        click.echo(
            inert_json(
                [_as_json(found, registry) if found else {"name": name, "error": error} for name, found, error in rows]
            )
        )
        return
    if not rows:
        click.echo("No consortiums yet: create one with 'llm consortiums create'", err=True)
        return
    # Names up to NAME_COLUMN wide line up; a longer one overflows its own row only.
    width = min(max(len(name) for name, _, _ in rows), NAME_COLUMN)
    for name, found, error in rows:
        line = found.summary() if found else f"BROKEN: {error}"
        click.echo(inert(f"{name:<{width}} : {line}"))


@click.command(name="show")
@click.argument("name")
@click.option("json_", "--json", is_flag=True, help="Output the full config as JSON")
def show(name: str, json_: bool) -> None:
    """
    Show a consortium's config as YAML

    Example usage:

    \b
        llm consortiums show my-consortium
    """
    config = _load(name)
    if json_:
        from ..adapter.participants import Registry

        click.echo(inert_json(_as_json(config, Registry())))
    else:
        click.echo(inert(store.dump(config)), nl=False)  # file text: made inert for the terminal


@click.command(name="delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation")
def delete(name: str, yes: bool) -> None:
    """
    Delete a saved consortium

    Example usage:

    \b
        llm consortiums delete my-consortium -y
    """
    path = store.path_for(_checked_name(name))
    if not path.exists():
        raise fail(f"No consortium named {name!r} (looked for {path})")
    users = users_of(name)
    if users:
        click.echo(
            f"Warning: {naming('consortium', users)} {'uses' if len(users) == 1 else 'use'} {name!r} as a member or "
            "arbiter and will fail until edited ('llm consortiums edit NAME')",
            err=True,
        )
    if not yes:
        click.confirm(f"Delete consortium {name!r} ({path})?", abort=True)
    try:
        store.delete(name)
    except StoreError as ex:
        raise fail(ex) from ex
    click.echo(f"Deleted consortium {name!r}: {path}")


@click.command(name="path")
def path_() -> None:
    "Output the path to the consortiums folder"
    click.echo(store.folder())

"""Refusing consortiums that would call themselves: a loop through nested
consortiums (a -> b -> a, or one that includes itself) is found before any call.

A registered model is a consortium when it carries a `consortium_name`; reading
that attribute keeps this module below the llm models that define it.
"""

from __future__ import annotations

import json
from typing import Any

import llm

from .. import files
from ..errors import StoreError
from . import store

ALIASES_MAX_BYTES = 1 << 20
"""llm's aliases.json is read (for cycles) only when it is at most this many bytes."""


def _model_ids(config: Any) -> list[str]:
    """Every model a run of `config` may call: members, the arbiter, and the model a
    `judge` matcher asks to group answers (a consortium there calls itself too)."""
    ids = [member.model_id for member in config.models]
    if config.arbiter is not None:
        ids.append(config.arbiter.model_id)
    if getattr(config, "matching", None) == "judge" and getattr(config, "matching_model", None):
        ids.append(config.matching_model)
    return ids


def configured_aliases() -> dict[str, str]:
    """The user's aliases from llm's aliases.json (`llm aliases set`), including those
    whose target is not registered yet - llm's own lookup drops those, so an alias
    to a consortium about to be created would otherwise go unseen."""
    try:
        data = json.loads(files.read_text(llm.user_dir() / "aliases.json", ALIASES_MAX_BYTES))
    except (OSError, ValueError):  # FileRefused included: llm itself reports its own file
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def find_cycle(
    config: Any, models: dict[str, Any] | None = None, aliases: dict[str, str] | None = None
) -> list[str] | None:
    """The loop `config` would run into through nested consortiums, as names from
    `config` back to the repeated one (["a", "b", "a"]); None when there is none.

    `models` maps ids and aliases to registered models (looked up when omitted);
    `aliases` are the user's configured aliases (read when omitted). A member is
    followed when it is a registered consortium, or `config` itself (by name or
    through an alias), which `create` and `edit` check before saving it.
    """
    if models is None:
        models = llm.get_model_aliases()
    if aliases is None:
        aliases = configured_aliases()

    def consortium_name(model_id: str) -> str | None:
        target = aliases.get(model_id, model_id)
        nested = getattr(models.get(model_id) or models.get(target), "consortium_name", None)
        if isinstance(nested, str):
            return nested
        return config.name if target == config.name else None

    def visit(name: str, path: tuple[str, ...]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name):], name]
        try:
            current = config if name == config.name else store.load(name)
        except (StoreError, ValueError):
            return None  # a broken nested consortium reports its own error when called
        for model_id in _model_ids(current):
            nested = consortium_name(model_id)
            if nested is not None:
                loop = visit(nested, (*path, name))
                if loop:
                    return loop
        return None

    return visit(config.name, ())


def check_cycles(config: Any, models: dict[str, Any]) -> None:
    """Refuse a consortium that reaches itself through its members or arbiter,
    naming the loop; runs before any model is called."""
    loop = find_cycle(config, models)
    if loop:
        raise llm.ModelError(f"Consortium cycle: {' -> '.join(loop)}")


def users_of(name: str) -> list[str]:
    """The other saved consortiums that name consortium `name` as a member or the
    arbiter, by its name or a configured alias of it (broken files are skipped)."""
    aliases = configured_aliases()
    users = []
    for other in store.list_names():
        if other == name:
            continue
        try:
            config = store.load(other)
        except (StoreError, ValueError):
            continue
        if any(aliases.get(model_id, model_id) == name for model_id in _model_ids(config)):
            users.append(other)
    return users


def _reached(start: str, models: dict[str, Any], aliases: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Every consortium a run of consortium `start` runs, itself included, each with
    the names leading to it from `start` (the shortest way, members before nested
    members). Broken files are not followed: they report their own error when called."""
    paths: dict[str, tuple[str, ...]] = {start: (start,)}
    pending = [start]
    while pending:
        name = pending.pop(0)
        try:
            config = store.load(name)
        except (StoreError, ValueError):
            continue
        for model_id in _model_ids(config):
            target = aliases.get(model_id, model_id)
            nested = getattr(models.get(model_id) or models.get(target), "consortium_name", None)
            if isinstance(nested, str) and nested not in paths:
                paths[nested] = (*paths[name], nested)
                pending.append(nested)
    return paths


def refuse_tool_loops(name: str, tools: Any) -> None:
    """Refuse, before any call, a run of consortium `name` whose members are given a
    consortium as a tool (`Consortium("x")`) that starts, or reaches through its own
    members, a consortium this run is already running: `name` itself or any nested
    consortium among its members, which get the tools too. Each consult would start
    that consortium again, inside itself."""
    targets = []
    for tool in tools or []:
        target = getattr(getattr(getattr(tool, "implementation", None), "__self__", None), "consortium_name", None)
        if isinstance(target, str):
            targets.append((tool.name, target))
    if not targets:
        return
    models, aliases = llm.get_model_aliases(), configured_aliases()
    running = _reached(name, models, aliases)
    for tool_name, target in targets:
        started = _reached(target, models, aliases)
        for consortium, path in running.items():
            if consortium in started:
                loop = [*path, *started[consortium]]
                raise llm.ModelError(f"Consortium cycle through the {tool_name} tool: {' -> '.join(loop)}")

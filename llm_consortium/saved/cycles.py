"""Refusing consortiums that would call themselves: a loop through nested
consortiums (a -> b -> a, or one that includes itself) is found before any call.

A registered model is a consortium when it carries a `consortium_name`; reading
that attribute keeps this module below the llm models that define it.
"""

from __future__ import annotations

import json
from typing import Any

import llm

from ..errors import StoreError
from . import store


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
        data = json.loads((llm.user_dir() / "aliases.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
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

"""`create`'s matching options (how a vote decides answers say the same thing), kept
apart so the command module stays short; checked before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llm

from ..settings_spec import FLAGS
from . import fail
from .spending import setting_option

FLAG_FOR_FIELD = FLAGS


def options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --matching, --matching-model, --matching-tolerance, --matching-threshold."""
    for name in reversed(("matching", "matching_model", "matching_tolerance", "matching_threshold")):
        command = setting_option(name)(command)
    return command


def fields(values: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """The config fields for the options given; a `semantic` model that is a chat
    model rather than an embedding model is refused here, in one line."""
    model = values.get("matching_model")
    if values.get("matching") == "semantic" and model:
        try:
            llm.get_embedding_model(model)
        except llm.UnknownModelError:
            where = "a chat model" if model in known else "not an installed embedding model"
            raise fail(f"--matching-model {model!r} is {where}; semantic matching needs an embedding model "
                       "('llm embed-models' lists them)") from None
    return {key: value for key, value in values.items() if value is not None}

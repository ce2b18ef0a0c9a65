"""`create`'s matching options (how a vote decides answers say the same thing), kept
apart so the command module stays short; checked before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import llm

from ..judging.matching import MODES
from . import fail

FLAG_FOR_FIELD = {
    "matching_model": "--matching-model",
    "matching_tolerance": "--matching-tolerance",
    "matching_threshold": "--matching-threshold",
}


def options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --matching, --matching-model, --matching-tolerance, --matching-threshold."""
    options = [
        click.option("--matching", type=click.Choice(MODES), default="auto", show_default=True,
                     help="How a vote groups answers (docs/matching.md)"),
        click.option("--matching-model", help="Embedding model (semantic) or grouping model (judge)"),
        click.option("--matching-tolerance", type=float, default=0.0, show_default=True,
                     help="number matching: numbers this close are one answer"),
        click.option("--matching-threshold", type=float, help="semantic matching: cosine similarity (-1 to 1)"),
    ]
    for option in reversed(options):
        command = option(command)
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

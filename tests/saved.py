"""Saving consortiums for tests in one line."""

from __future__ import annotations

from typing import Any

from llm_consortium import store
from llm_consortium.config import ConsortiumConfig


def save(name: str, members: list[Any], arbiter: str | None = "judge", **extra: Any) -> ConsortiumConfig:
    """Save consortium `name`; members are model ids or member dicts."""
    config = ConsortiumConfig(
        name=name,
        models=[{"model_id": m} if isinstance(m, str) else m for m in members],
        arbiter={"model_id": arbiter} if arbiter else None,
        **extra,
    )
    store.save(config)
    return config

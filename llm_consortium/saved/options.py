"""A consortium's model options checked against each installed model's own `Options`:
`create -o` checks what the user types, and every read of a file checks what it holds,
with the same code, so a hand-edited `temperature: hot` or a misspelt key is refused
before any call (and shown BROKEN in `list`) instead of dropping that member on every
run. A model that is not installed has no Options to check against yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import OptionError
from .config import ConsortiumConfig, explain


def checked(model_id: str, values: Mapping[str, Any], model: Any) -> dict[str, Any]:
    """`values` validated by `model.Options`, as the coerced values (0.5, not "0.5");
    OptionError naming `model_id` and each problem."""
    try:
        validated = model.Options(**values)
    except ValidationError as ex:
        raise OptionError(f"Invalid option for {model_id}: {explain(ex)}") from ex
    return dict(validated.model_dump(mode="json", by_alias=True, exclude_unset=True))


def problem(config: ConsortiumConfig, known: Mapping[str, Any] | None = None) -> str | None:
    """Why the options saved for a member or the arbiter of `config` cannot be used by
    its installed model (`known` maps ids and aliases to models, looked up only when
    some entry has options), or None."""
    entries = [*config.models, *([config.arbiter] if config.arbiter is not None else [])]
    if not any(entry.options for entry in entries):
        return None
    if known is None:
        import llm

        known = llm.get_model_aliases()
    for entry in entries:
        model = known.get(entry.model_id)
        if entry.options and model is not None:
            try:
                checked(entry.model_id, entry.options, model)
            except OptionError as ex:
                return str(ex)
    return None

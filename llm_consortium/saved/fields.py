"""A setting of the table (`settings_spec`) as a pydantic field: how the YAML schema
(`config.py`) and the `-o` options (`adapter/models.py`) are made from one declaration.

Apart from `config.py` so that building the `-o` options when `llm` registers the
consortium models (every command) does not build the file's models too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ..settings_spec import Setting


def _finite(setting: Setting, text: bool) -> Callable[[Any], Any]:
    """The table's rule for what pydantic would let through or word badly: NaN and
    infinity ("-o timeout nan" would say "greater than 0"), and true/false for a
    number (YAML's `true` would be read as 1). Text is parsed as llm's `-o` gives it
    (`text`); in a file, a quoted number is refused like any other text."""

    def check(value: Any) -> Any:
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return value  # not a number at all: pydantic says so
            if not text and math.isfinite(number):
                kind = "a whole number" if setting.kind is int else "a number"
                raise PydanticCustomError("setting_value", f"must be {kind}, not text")
        if isinstance(number, bool) or (isinstance(number, float) and not math.isfinite(number)):
            raise PydanticCustomError("setting_value", setting.fault(number) or "")
        return value

    return check


def setting_field(setting: Setting, *, per_call: bool = False) -> tuple[Any, Any]:
    """A setting of the table as a pydantic field (annotation, FieldInfo): in the
    YAML schema, or as an `-o` option (`per_call`: None, the saved value, by default)."""
    kind: Any = Literal[setting.choices] if setting.choices else setting.kind
    if setting.kind in (int, float):
        kind = Annotated[kind, BeforeValidator(_finite(setting, text=per_call))]
    bounds = {"ge": setting.minimum, "le": setting.maximum, "gt": setting.above}
    limits: dict[str, Any] = {key: bound for key, bound in bounds.items() if bound is not None}
    return (
        kind | None if setting.optional or per_call else kind,
        Field(default=None if per_call else setting.default, description=setting.described, **limits),
    )

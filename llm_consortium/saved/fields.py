"""A setting of the table (`settings_spec`) as a pydantic field, and the table's one
rule as pydantic's check: how the YAML schema (`config.py`) and the `-o` options
(`adapter/models.py`) hold and check the settings their cog blocks declare.

Apart from `config.py` so that building the `-o` options when `llm` registers the
consortium models (every command) does not build the file's models too.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, ValidationInfo
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from ..settings_spec import BY_NAME, Setting


def _bounds(setting: Setting) -> JsonDict:
    """The range as JSON Schema words, so the schema still shows it (the check is
    the table's own, `checked`)."""
    bounds: JsonDict = {"minimum": setting.minimum, "maximum": setting.maximum, "exclusiveMinimum": setting.above}
    return {key: bound for key, bound in bounds.items() if bound is not None}


def setting_field(name: str) -> Any:
    """The field of setting `name` in the YAML schema: its default and its help."""
    setting = BY_NAME[name]
    return Field(default=setting.default, description=setting.described, json_schema_extra=_bounds(setting))


def option_field(name: str) -> Any:
    """The field of setting `name` as an `-o` option: None (the saved value) unless given."""
    setting = BY_NAME[name]
    return Field(default=None, description=setting.described, json_schema_extra=_bounds(setting))


def _as_pydantic_read_it(setting: Setting, value: Any, per_call: bool) -> Any:
    """What pydantic's lax mode made of `value` before the table's rule checked every
    setting, kept so that nothing accepted before is refused now: 0 and 1 or a word
    for true and false; for an option, a whole float for a whole number (a file's
    `max_iterations: 3.0` is refused, as docs/file-format.md says)."""
    if isinstance(value, bool):
        return value
    if per_call and setting.kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if setting.kind is bool and isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if setting.kind is bool and isinstance(value, str):
        return setting.from_text(value)
    return value


def checked(setting: Setting, value: Any, *, per_call: bool = False) -> Any:
    """`value` for `setting` when the table's rule (`Setting.fault`) allows it, else a
    pydantic error with the rule's words. Every table setting of a pydantic class is
    checked here, before pydantic's own type check, which then has nothing to refuse:
    one rule, one message. `per_call`: an `-o` value, text as llm gives it, None
    when not given; in a file a quoted number is text, refused like any other."""
    if per_call:
        if value is None:
            return None
        if isinstance(value, str):
            value = setting.from_text(value)
    elif isinstance(value, str) and setting.kind is float:
        number = setting.from_text(value)  # YAML reads `nan` unquoted as text: name it NaN all the same
        value = number if isinstance(number, float) and not math.isfinite(number) else value
    value = _as_pydantic_read_it(setting, value, per_call)
    fault = setting.fault(value)
    if fault is not None:
        raise PydanticCustomError("setting_value", fault)
    return value


def check_setting(value: Any, info: ValidationInfo, *, per_call: bool = False) -> Any:
    """A field validator's body: the table's rule for a table setting, anything else
    passed on unchanged."""
    setting = BY_NAME.get(info.field_name or "")
    return value if setting is None else checked(setting, value, per_call=per_call)

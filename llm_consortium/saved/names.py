"""The consortium name rule, on its own so that listing names (on every `llm` model
lookup) needs neither pydantic models nor YAML."""

from __future__ import annotations

import re

from ..errors import InvalidName

FOLDER_NAME = "consortiums"
"""The folder in llm's user directory that holds one YAML file per consortium."""

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    """Return `name` if it is a valid consortium name, else raise InvalidName.

    One rule for every entry point: it doubles as a file name inside the
    consortium folder, so it must never be able to point outside it.
    """
    if not isinstance(name, str) or not name:
        raise InvalidName("Consortium name must not be empty")
    if not _NAME_RE.fullmatch(name):
        raise InvalidName(
            f"Invalid consortium name {name!r}: use 1-64 letters, digits, '-', '_' "
            "or '.', starting with a letter or digit"
        )
    if name.lower().endswith(".yaml"):
        raise InvalidName(f"Invalid consortium name {name!r}: must not end in .yaml")
    return name

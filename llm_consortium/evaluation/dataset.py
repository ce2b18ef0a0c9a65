"""Reading an eval dataset: JSONL or CSV, one item per line or row.

Every line is checked before any model is called, so a typo on line 812 costs a
second, not an hour of calls; the error names the file and the line.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files
from ..errors import DatasetError


@dataclass(frozen=True)
class Item:
    """One question: its position in the file (`index`, from 0, over items only),
    the line it starts on, and what the eval asks and expects."""

    index: int
    line: int
    prompt: str
    expected: str
    system: str | None = None


@dataclass(frozen=True)
class Dataset:
    path: str
    items: list[Item]


def _text(value: Any) -> str | None:
    """A field as text: strings as they are, numbers and booleans as JSON writes
    them (an expected answer of 42 is "42"), None for null or missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise TypeError(type(value).__name__)


def _item(
    where: str, index: int, line: int, row: dict[str, Any], prompt_field: str, expected_field: str,
    system_field: str,
) -> Item:
    values: dict[str, str | None] = {}
    for field, required in ((prompt_field, True), (expected_field, True), (system_field, False)):
        try:
            value = _text(row.get(field))
        except TypeError as ex:
            raise DatasetError(f"{where}: field {field!r} must be text, not {ex}") from None
        if required and (value is None or not value.strip()):
            raise DatasetError(f"{where}: no {field!r} field (or it is empty)")
        values[field] = value
    prompt, expected, system = (values[name] for name in (prompt_field, expected_field, system_field))
    assert prompt is not None and expected is not None  # required, checked above
    return Item(index, line, prompt, expected, system or None)


def _jsonl(name: str, text: str, fields: tuple[str, str, str]) -> list[Item]:
    items: list[Item] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as ex:
            raise DatasetError(f"{where}: not valid JSON ({ex.msg})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
        items.append(_item(where, len(items), number, row, *fields))
    return items


def _csv(name: str, text: str, fields: tuple[str, str, str]) -> list[Item]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as ex:
        raise DatasetError(f"{name} line 1: {ex}") from None
    for field in fields[:2]:
        if field not in header:
            raise DatasetError(f"{name} line 1: the header has no {field!r} column")
    items: list[Item] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as ex:
            raise DatasetError(f"{name} line {start}: {ex}") from None
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        where = f"{name} line {start}"
        if len(values) != len(header):
            raise DatasetError(f"{where}: {len(values)} columns, the header has {len(header)}")
        items.append(_item(where, len(items), start, dict(zip(header, values, strict=True)), *fields))
    return items


def load(
    path: str | Path,
    *,
    prompt_field: str = "prompt",
    expected_field: str = "expected",
    system_field: str = "system",
) -> Dataset:
    """Read and check every item. CSV when the name ends in .csv, else JSONL."""
    path = Path(path)
    try:
        data = files.read_bytes(path, files.DATASET_MAX_BYTES)
    except OSError as ex:
        raise DatasetError(f"Cannot read dataset {str(path)!r}: {ex.strerror or ex}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        line = data[: ex.start].count(b"\n") + 1
        raise DatasetError(f"{path} line {line}: not UTF-8 text") from None
    fields = (prompt_field, expected_field, system_field)
    reader = _csv if path.suffix.lower() == ".csv" else _jsonl
    items = reader(str(path), text, fields)
    if not items:
        raise DatasetError(f"{path}: no items")
    return Dataset(str(path), items)


def subset(
    items: list[Item], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[Item]:
    """`sample` items drawn at random with `seed` (the same seed draws the same
    items, kept in file order), then the first `limit` of those."""
    chosen = list(items)
    if sample is not None and sample < len(chosen):
        picked = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [item for i, item in enumerate(chosen) if i in picked]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen

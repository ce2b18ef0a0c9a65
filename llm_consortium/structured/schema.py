"""Checking a JSON value against a JSON schema, for the part of the standard the
schemas given to `llm` use.

Why our own: a consortium must check every member's answer itself (a model
without schema support only gets the schema as instructions), and the project
depends on no JSON Schema library. `llm --schema` produces plain JSON schemas from
its DSL or from pydantic classes, which use a small, stable part of the standard:
type, properties, required, additionalProperties, items/prefixItems, enum, const,
anyOf/oneOf/allOf/not, local $ref to $defs, and bounds on numbers, strings, arrays
and objects. That part is checked here. Annotations (title, description, default,
format, examples) are ignored, as the standard allows; so is a `pattern` Python's
re cannot read.

Standard library only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import SchemaProblem

__all__ = ["SchemaProblem", "canonical", "check_schema", "errors", "escape_unsafe"]

MAX_REF_HOPS = 32
"""$ref jumps allowed without descending into the value: stops `{"$ref": "#"}` loops."""



def _plain(value: Any) -> Any:
    """`value` with numbers compared as numbers: 1.0 becomes 1, -0.0 becomes 0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """The comparable form of a JSON value: keys sorted, no whitespace, numbers as
    numbers (1, 1.0 and 1e0 are one answer; true and 1 are not)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# C1 controls, DEL, line/paragraph separators and bidi overrides: json.dumps with
# ensure_ascii=False leaves them raw, and a terminal may act on them.

_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return name == "number" or isinstance(value, int) or value.is_integer()


def _type_of(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__


# C1 controls, DEL, line/paragraph separators and bidi overrides: json.dumps with
# ensure_ascii=False leaves them raw, and a terminal may act on them.
_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_unsafe(json_text: str) -> str:
    """JSON text (from json.dumps) with every character a terminal could act on
    written as a \\u escape; they can only be inside strings, so it stays JSON."""
    return _UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


_PLAIN_KEY_RE = re.compile(r"[\w-]+")


def _show(value: Any) -> str:
    """A value as quoted in an error message: short, and inert on a terminal."""
    text = escape_unsafe(canonical(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _where(path: str) -> str:
    return path or "the answer"


@dataclass
class _Checker:
    root: dict[str, Any]
    limit: int = 20

    def __post_init__(self) -> None:
        self.found: list[str] = []

    def fail(self, path: str, problem: str) -> None:
        if len(self.found) < self.limit:
            self.found.append(f"{_where(path)}: {problem}")

    def resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise SchemaProblem(f"only local $ref is supported, not {ref!r}")
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaProblem(f"$ref {ref!r} points nowhere")
            node = node[part]
        if not isinstance(node, (dict, bool)):
            raise SchemaProblem(f"$ref {ref!r} is not a schema")
        return node  # type: ignore[return-value]

    def ok(self, value: Any, schema: Any, hops: int = 0) -> bool:
        """Validity without recording errors (for anyOf/oneOf/not)."""
        probe = _Checker(self.root, limit=1)
        probe.check(value, schema, "", hops)
        return not probe.found

    def check(self, value: Any, schema: Any, path: str, hops: int = 0) -> None:
        if schema is True or schema == {}:
            return
        if schema is False:
            self.fail(path, "no value is allowed here")
            return
        if not isinstance(schema, dict):
            raise SchemaProblem(f"a schema must be an object, got {_show(schema)}")
        if "$ref" in schema:
            if hops >= MAX_REF_HOPS:
                raise SchemaProblem("$ref loops without end")
            self.check(value, self.resolve(schema["$ref"]), path, hops + 1)
        self._check_type(value, schema, path)
        if "enum" in schema and canonical(value) not in {canonical(v) for v in schema["enum"]}:
            allowed = ", ".join(_show(v) for v in schema["enum"])
            self.fail(path, f"{_show(value)} is not one of {allowed}")
        if "const" in schema and canonical(value) != canonical(schema["const"]):
            self.fail(path, f"must be {_show(schema['const'])}")
        for sub in schema.get("allOf", ()):
            self.check(value, sub, path, hops)
        if "anyOf" in schema and not any(self.ok(value, s, hops) for s in schema["anyOf"]):
            self.fail(path, f"{_show(value)} matches none of the allowed forms")
        if "oneOf" in schema and sum(self.ok(value, s, hops) for s in schema["oneOf"]) != 1:
            self.fail(path, f"{_show(value)} must match exactly one of the allowed forms")
        if "not" in schema and self.ok(value, schema["not"], hops):
            self.fail(path, f"{_show(value)} is not allowed")
        if isinstance(value, dict):
            self._check_object(value, schema, path)
        elif isinstance(value, list):
            self._check_array(value, schema, path)
        elif isinstance(value, str):
            self._check_string(value, schema, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(value, schema, path)

    def _check_type(self, value: Any, schema: dict[str, Any], path: str) -> None:
        wanted = schema.get("type")
        if wanted is None:
            return
        names = wanted if isinstance(wanted, list) else [wanted]
        for name in names:
            if name not in _TYPES:
                raise SchemaProblem(f"unknown type {name!r}")
        if not any(_is_type(value, name) for name in names):
            self.fail(path, f"expected {' or '.join(names)}, got {_type_of(value)} {_show(value)}")

    def _check_object(self, value: dict[str, Any], schema: dict[str, Any], path: str) -> None:
        properties = schema.get("properties") or {}
        for name in schema.get("required", ()):
            if name not in value:
                self.fail(path, f"missing required field {name!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            name = key if _PLAIN_KEY_RE.fullmatch(key) else escape_unsafe(json.dumps(key, ensure_ascii=False))
            where = f"{path}.{name}" if path else name
            if key in properties:
                self.check(item, properties[key], where)
            elif extra is False:
                self.fail(path, f"unexpected field {key!r}")
            elif isinstance(extra, dict):
                self.check(item, extra, where)
        if len(value) < schema.get("minProperties", 0):
            self.fail(path, f"needs at least {schema['minProperties']} fields")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.fail(path, f"allows at most {schema['maxProperties']} fields")

    def _check_array(self, value: list[Any], schema: dict[str, Any], path: str) -> None:
        prefix = schema.get("prefixItems") or []
        items = schema.get("items")
        if isinstance(items, list):  # the older tuple form
            prefix, items = items, schema.get("additionalItems")
        for index, item in enumerate(value):
            sub = prefix[index] if index < len(prefix) else items
            if sub is not None:
                self.check(item, sub, f"{path}[{index}]")
        if len(value) < schema.get("minItems", 0):
            self.fail(path, f"needs at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.fail(path, f"allows at most {schema['maxItems']} items, got {len(value)}")
        if schema.get("uniqueItems") and len({canonical(v) for v in value}) < len(value):
            self.fail(path, "items must be unique")

    def _check_string(self, value: str, schema: dict[str, Any], path: str) -> None:
        if len(value) < schema.get("minLength", 0):
            self.fail(path, f"needs at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.fail(path, f"allows at most {schema['maxLength']} characters")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                matched = re.search(pattern, value) is not None
            except re.error:  # an ECMA-only pattern Python cannot read: not ours to judge
                matched = True
            if not matched:
                self.fail(path, f"{_show(value)} does not match {pattern!r}")

    def _check_number(self, value: float, schema: dict[str, Any], path: str) -> None:
        bounds = (
            ("minimum", lambda v, b: v >= b, ">="),
            ("maximum", lambda v, b: v <= b, "<="),
            ("exclusiveMinimum", lambda v, b: v > b, ">"),
            ("exclusiveMaximum", lambda v, b: v < b, "<"),
        )
        for key, holds, sign in bounds:
            bound = schema.get(key)
            if isinstance(bound, bool):  # draft 4: a flag on minimum/maximum
                continue
            if isinstance(bound, (int, float)) and not holds(value, bound):
                self.fail(path, f"{_show(value)} must be {sign} {_show(bound)}")
        for key, sign in (("minimum", ">"), ("maximum", "<")):
            if schema.get(f"exclusive{key.title()}") is True and value == schema.get(key):
                self.fail(path, f"{_show(value)} must be {sign} {_show(schema[key])}")
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            ratio = value / step
            if abs(ratio - round(ratio)) > 1e-9 * max(1.0, abs(ratio)):
                self.fail(path, f"{_show(value)} must be a multiple of {_show(step)}")


def errors(value: Any, schema: dict[str, Any], limit: int = 20) -> list[str]:
    """Every way (up to `limit`) `value` fails `schema`, each as "where: why";
    empty when it is valid. Raises SchemaProblem for a schema that cannot be read."""
    checker = _Checker(schema, limit)
    checker.check(value, schema, "")
    return checker.found


def check_schema(schema: Any) -> None:
    """Refuse a schema this module cannot check, before any model is called."""
    if not isinstance(schema, dict):
        raise SchemaProblem(f"the schema must be a JSON object, got {_show(schema)}")
    seen: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if any(node is s for s in seen):
                return
            seen.append(node)
            wanted = node.get("type")
            if wanted is not None:
                for name in wanted if isinstance(wanted, list) else [wanted]:
                    if name not in _TYPES:
                        raise SchemaProblem(f"unknown type {name!r} in the schema")
            ref = node.get("$ref")
            if isinstance(ref, str):
                _Checker(schema).resolve(ref)
            for key, child in node.items():
                if key not in ("enum", "const", "default", "examples"):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)

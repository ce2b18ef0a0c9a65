"""Checking a JSON value against the user's JSON Schema (`llm --schema`).

A consortium checks every member's answer itself: a model without schema support
only gets the schema as instructions, and even one with it may be wrong. The check
is the `jsonschema` library's, so every keyword of the standard counts (none is
silently skipped); a schema without `$schema` is read as draft 2020-12, which is
what llm's DSL and pydantic produce. `jsonschema` is slow to import
(docs/structured-output.md#how-answers-are-checked), so it is imported on the first
check, never when `llm` starts or lists models.

What stays here is what the project says about it: one-line messages ("where: why",
quoting the model's text inertly), refusing a schema that cannot be checked before
any model is called (remote `$ref`s are never fetched), `multipleOf` in exact
decimal arithmetic (the library divides as floats, which overflows on a huge
integer and calls 0.3 no multiple of 0.1), and the canonical form answers are
compared in. A reply can only ever produce messages, never an exception.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..errors import SchemaProblem

if TYPE_CHECKING:  # the library ships no type information
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
    from jsonschema.protocols import Validator  # type: ignore[import-untyped]

__all__ = ["SchemaProblem", "canonical", "check_schema", "errors", "escape_unsafe"]


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


# C0/C1 controls, DEL, line/paragraph separators and bidi overrides: json.dumps with
# ensure_ascii=False leaves the non-ASCII ones raw, and a terminal may act on them.
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_unsafe(json_text: str) -> str:
    """JSON text (from json.dumps) with every character a terminal could act on
    written as a \\u escape; they can only be inside strings, so it stays JSON."""
    return _UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_PLAIN_KEY_RE = re.compile(r"[\w-]+")
MAX_MESSAGE = 160
"""Characters of a library message kept in one of ours (it may quote a whole answer)."""


def _show(value: Any) -> str:
    """A value as quoted in an error message: short, and inert on a terminal."""
    try:
        text = escape_unsafe(canonical(value))
    except (TypeError, ValueError):  # not JSON (a schema can hold anything)
        text = escape_unsafe(repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(text: str) -> str:
    text = escape_unsafe(" ".join(text.split()))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _path(parts: Any) -> str:
    """A path into the answer as written in messages: `items[1].age`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _PLAIN_KEY_RE.fullmatch(part) else escape_unsafe(json.dumps(part, ensure_ascii=False))
        out += f".{name}" if out else name
    return out


# ----------------------------------------------------------------- the messages


def _extra_fields(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties") or {}
    patterns = [p for p in schema.get("patternProperties") or {} if isinstance(p, str)]
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)]


def _reason(error: ValidationError) -> str:
    """Why, in the project's words for the common keywords, the library's otherwise."""
    keyword, bound, value = error.validator, error.validator_value, error.instance
    signs = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if keyword is None:
        return "no value is allowed here"
    if keyword == "type":
        names = bound if isinstance(bound, list) else [bound]
        return f"expected {' or '.join(map(str, names))}, got {_type_of(value)} {_show(value)}"
    if keyword == "required":
        missing = [n for n in bound if isinstance(value, dict) and n not in value]
        name = next((n for n in missing if error.message == f"{n!r} is a required property"), None)
        return f"missing required field {name!r}" if name is not None else _one_line(error.message)
    if keyword == "additionalProperties" and bound is False:
        extra = _extra_fields(error)
        if extra:
            return f"unexpected field {escape_unsafe(repr(extra[0]))}" + (
                f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            )
    if keyword == "enum":
        return f"{_show(value)} is not one of {', '.join(_show(v) for v in bound)}"
    if keyword == "const":
        return f"must be {_show(bound)}"
    if keyword == "anyOf":
        return f"{_show(value)} matches none of the allowed forms"
    if keyword == "oneOf":
        return f"{_show(value)} must match exactly one of the allowed forms"
    if keyword == "not" and bound == {}:
        return "no value is allowed here"
    if keyword == "not":
        return f"{_show(value)} is not allowed"
    if keyword in signs:
        return f"{_show(value)} must be {signs[keyword]} {_show(bound)}"
    if keyword == "multipleOf":
        return f"{_show(value)} must be a multiple of {_show(bound)}"
    if keyword == "pattern":
        return f"{_show(value)} does not match {escape_unsafe(repr(bound))}"
    if keyword in ("minLength", "maxLength"):
        least = keyword == "minLength"
        return f"{'needs at least' if least else 'allows at most'} {bound} characters"
    if keyword in ("minItems", "maxItems"):
        least = keyword == "minItems"
        count = len(value) if isinstance(value, list) else "?"
        return f"{'needs at least' if least else 'allows at most'} {bound} items, got {count}"
    if keyword in ("minProperties", "maxProperties"):
        return f"{'needs at least' if keyword == 'minProperties' else 'allows at most'} {bound} fields"
    if keyword == "uniqueItems":
        return "items must be unique"
    return _one_line(error.message)


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Any:
    """`multipleOf` on the numbers as written: exact, so a 400-digit integer cannot
    overflow and 0.3 is a multiple of 0.1."""
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "number") or isinstance(step, bool) or not isinstance(step, (int, float)):
        return
    ratio = Fraction(Decimal(repr(instance))) / Fraction(Decimal(repr(step)))
    if ratio.denominator != 1:
        yield ValidationError(f"{_show(instance)} is not a multiple of {_show(step)}")


# ------------------------------------------------------------ reading the schema


def _walk(node: Any, visit: Any) -> None:
    """Call `visit` on every object in the schema, skipping literal values."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if id(node) in seen:
                continue
            seen.add(id(node))
            visit(node)
            stack.extend(v for k, v in node.items() if k not in ("enum", "const", "default", "examples"))
        elif isinstance(node, list):
            stack.extend(node)


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """The subschema a local JSON-pointer `$ref` names (SchemaProblem if none)."""
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise SchemaProblem(f"$ref {ref!r} points nowhere")
    if not isinstance(node, (dict, bool)):
        raise SchemaProblem(f"$ref {ref!r} is not a schema")
    return node


_SAME_VALUE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")
"""Keywords whose subschemas apply to the value itself, not to a part of it: a $ref
loop through only these never ends."""


def _same_value_children(root: dict[str, Any], node: dict[str, Any]) -> list[Any]:
    children: list[Any] = []
    ref = node.get("$ref")
    if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")):
        children.append(_resolve(root, ref))
    for key in _SAME_VALUE:
        sub = node.get(key)
        if isinstance(sub, list):
            children.extend(sub)
        elif key == "dependentSchemas" and isinstance(sub, dict):
            children.extend(sub.values())
        elif sub is not None:
            children.append(sub)
    return [c for c in children if isinstance(c, dict)]


def _refuse_loops(root: dict[str, Any]) -> None:
    """SchemaProblem when checking any value would recurse forever (`{"$ref": "#"}`)."""
    done: set[int] = set()

    def visit(start: dict[str, Any]) -> None:
        path: list[int] = []
        stack: list[tuple[dict[str, Any], bool]] = [(start, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                path.pop()
                done.add(id(node))
                continue
            if id(node) in path:
                raise SchemaProblem("$ref loops without end")
            if id(node) in done:
                continue
            path.append(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _same_value_children(root, node))

    _walk(root, visit)


def _refuse_unreadable(root: dict[str, Any]) -> None:
    """Unknown type names and $refs that are remote or point nowhere."""

    def visit(node: dict[str, Any]) -> None:
        wanted = node.get("type")
        if wanted is not None:
            for name in wanted if isinstance(wanted, list) else [wanted]:
                if name not in _TYPES:
                    raise SchemaProblem(f"unknown type {escape_unsafe(repr(name))} in the schema")
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                raise SchemaProblem(f"only local $ref is supported, not {_show(ref)}")
            if ref == "#" or ref.startswith("#/"):
                _resolve(root, ref)

    _walk(root, visit)


_ONE_SCHEMA = ("items", "additionalItems", "contains", "not", "if", "then", "else", "propertyNames", "unevaluatedItems")
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf", "items")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_NEVER: dict[str, Any] = {"not": {}}


def _never_as_not(node: Any) -> Any:
    """A copy of a schema where a `false` subschema reads `{"not": {}}`: the same
    meaning, but the library reports where the value was for the latter and loses
    the last step of the path for the former. (`additionalProperties: false` keeps
    its form, which gets its own message.)"""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for key in _ONE_SCHEMA:
        if out.get(key) is False:
            out[key] = _NEVER
        elif isinstance(out.get(key), dict):
            out[key] = _never_as_not(out[key])
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_NEVER if s is False else _never_as_not(s) for s in out[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: _NEVER if s is False else _never_as_not(s) for k, s in out[key].items()}
    for key in ("additionalProperties", "unevaluatedProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _never_as_not(out[key])
    return out


@functools.lru_cache(maxsize=32)
def _validator(schema_text: str) -> Validator:
    """The checker for one schema (given as JSON text, so it can be cached: every
    answer of a run is checked against the same schema)."""
    from jsonschema import exceptions, validators  # type: ignore[import-untyped]

    schema = json.loads(schema_text)
    _refuse_unreadable(schema)
    _refuse_loops(schema)
    base = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        base.check_schema(schema)
    except exceptions.SchemaError as ex:
        where = "/".join(str(p) for p in ex.absolute_path) or "the schema"
        raise SchemaProblem(f"{where}: {_one_line(ex.message)}") from None
    checker = validators.extend(base, {"multipleOf": _multiple_of})
    return checker(_never_as_not(schema))


def _compiled(schema: Any) -> Validator:
    if not isinstance(schema, dict):
        raise SchemaProblem(f"the schema must be a JSON object, got {_show(schema)}")
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as ex:
        raise SchemaProblem(f"the schema is not JSON: {ex}") from None
    return _validator(text)


def check_schema(schema: Any) -> None:
    """Refuse a schema that cannot be checked, before any model is called."""
    _compiled(schema)


def _order(error: ValidationError) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in error.absolute_path)


MAX_COLLECTED = 1000
"""Problems read from the library before the first `limit` are chosen: bounds the
work an answer with a huge number of bad items can cost."""


def errors(value: Any, schema: dict[str, Any], limit: int = 20) -> list[str]:
    """Every way (up to `limit`) `value` fails `schema`, each as "where: why", the
    outermost first; empty when it is valid. SchemaProblem for a schema that cannot
    be read; any value, however odd, gives only messages."""
    from referencing.exceptions import Unresolvable

    checker = _compiled(schema)
    try:
        found = sorted(itertools.islice(checker.iter_errors(value), MAX_COLLECTED), key=_order)
    except RecursionError:
        return ["the answer: nested too deeply to check"]
    except Unresolvable as ex:
        raise SchemaProblem(f"a $ref cannot be resolved: {_one_line(str(ex))}") from None
    except (ArithmeticError, ValueError, TypeError) as ex:  # the library on a value it did not expect
        return [f"the answer: could not be checked ({type(ex).__name__}: {_one_line(str(ex))})"]
    return [f"{_path(e.absolute_path) or 'the answer'}: {_reason(e)}" for e in found[:limit]]

"""Structured output: reading JSON out of model replies, checking it against the
user's JSON schema, and voting on JSON answers.

Why a validator of our own: `llm` turns `--schema` (its DSL, a JSON schema or a
pydantic class) into a plain JSON schema and leaves checking to the provider. A
consortium must check every member's answer itself (a model without schema support
only gets the schema as instructions), and the project depends on no JSON Schema
library. The schemas users hand to `llm` use a small, stable part of the
standard - type, properties, required, items, enum, const, anyOf/oneOf/allOf,
local $ref to $defs (pydantic), bounds on numbers, strings and arrays - and that
part is checked here; annotation keywords (title, description, format, default)
are ignored, as the standard allows.

Pure standard library and deterministic, so it can be tested without models.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "InvalidAnswer",
    "SchemaProblem",
    "canonical",
    "check_schema",
    "dumps",
    "errors",
    "extract_json",
    "parse_answer",
    "tally",
]

MAX_SCAN = 200
"""Start positions `extract_json` tries in free text before giving up; bounds the
work a long reply full of braces can cost."""

MAX_REF_HOPS = 32
"""$ref jumps allowed without descending into the value: stops `{"$ref": "#"}` loops."""


class InvalidAnswer(ValueError):
    """A reply holds no JSON, or JSON that does not match the schema. The message is
    one line naming where and why."""


class SchemaProblem(ValueError):
    """The user's schema itself cannot be used; the message is one line."""


# ------------------------------------------------------------------ reading JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_FENCE_RE = re.compile(r"```[ \t]*(?:json5?|JSON)?[ \t]*\n(.*?)```", re.DOTALL)
_START_RE = re.compile(r"[\[{]")
_THINK_OPEN_RE = re.compile(r"<(think(?:ing)?)>")


def _drop_think(text: str) -> str:
    """`text` without closed <think>/<thinking> blocks, in linear time (a regex with
    a lazy .*? would be quadratic on a reply full of unclosed tags)."""
    lower = text.lower()
    out: list[str] = []
    pos = 0
    while match := _THINK_OPEN_RE.search(lower, pos):
        end_tag = f"</{match.group(1)}>"
        close = lower.find(end_tag, match.end())
        if close < 0:
            break
        out.append(text[pos : match.start()])
        pos = close + len(end_tag)
    out.append(text[pos:])
    return "".join(out)


def _finite(value: Any) -> bool:
    """True when no number in `value` is infinite (json reads 1e999 as inf)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _loads(text: str) -> Any:
    value = _decoder.decode(text)
    if not _finite(value):
        raise ValueError("number out of range")
    return value


def extract_json(text: str) -> Any:
    """The first JSON value in a model's reply.

    Tried in order: the whole reply; the first fenced code block (```json or ```)
    that parses; the first object or array found by scanning the text (so
    "Here it is: {...}" works and a stray number in the prose is not taken for the
    answer). Closed <think> blocks are skipped: a reasoning model's drafts are not
    its answer. Raises InvalidAnswer when there is none.
    """
    text = _drop_think(text)
    stripped = text.strip()
    try:
        return _loads(stripped)
    except (ValueError, RecursionError):
        pass
    for match in _FENCE_RE.finditer(text):
        try:
            return _loads(match.group(1).strip())
        except (ValueError, RecursionError):
            continue
    for tried, match in enumerate(_START_RE.finditer(text)):
        if tried >= MAX_SCAN:
            break
        try:
            value, _ = _decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        if _finite(value):
            return value
    raise InvalidAnswer("the reply holds no JSON object or array")


# ------------------------------------------------------------ comparing and printing


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
_UNSAFE_RE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def dumps(value: Any) -> str:
    """The answer as printed: one line of JSON, readable Unicode, and every character
    a terminal could act on escaped (only possible inside strings, so it stays JSON)."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# ------------------------------------------------------------------- validation


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


def _show(value: Any) -> str:
    text = canonical(value)
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
            where = f"{path}.{key}" if path else key
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


def parse_answer(text: str, schema: dict[str, Any]) -> Any:
    """The JSON value a reply holds, checked against `schema`; InvalidAnswer names
    the first problem (and how many more there are)."""
    value = extract_json(text)
    found = errors(value, schema)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise InvalidAnswer(f"does not match the schema: {found[0]}{more}")
    return value


# ----------------------------------------------------------------------- voting


@dataclass(frozen=True)
class JsonWinner:
    """A vote's result, shaped like `vote.Group` where the engine reads it: the
    answer as printed JSON, and its share (for a field-by-field vote, the share of
    its weakest field)."""

    answer: str
    share: float
    by_field: bool = False


_ABSENT = "\0absent"


def _field_vote(
    values: list[tuple[int, Any]], names: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The majority value of each top-level field (absence counts as a value, so a
    field most answers leave out stays out); ties go to the earliest member."""
    keys: list[str] = []
    for _, value in values:
        keys.extend(k for k in value if k not in keys)
    merged: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    weakest = 1.0
    for key in keys:
        counts: dict[str, list[int]] = {}
        for index, value in values:
            counts.setdefault(canonical(value[key]) if key in value else _ABSENT, []).append(index)
        best = max(counts, key=lambda c: (len(counts[c]), -counts[c][0]))
        share = len(counts[best]) / len(values)
        weakest = min(weakest, share)
        if best != _ABSENT:
            merged[key] = json.loads(best)
        fields[key] = {
            "value": None if best == _ABSENT else merged[key],
            "absent": best == _ABSENT,
            "members": [names[i] for i in counts[best]],
            "share": share,
        }
    return merged, fields, weakest


def tally(
    answers: Sequence[Optional[str]], names: Sequence[str], schema: Optional[dict[str, Any]] = None
) -> tuple[JsonWinner, dict[str, Any]]:
    """Judge one round of JSON answers (None for a member with no valid answer).

    Answers equal as canonical JSON are one group; the largest group wins, the
    earliest on ties. When every group has one member (and there are several
    objects), each top-level field is voted on by itself instead; the merged object
    wins if it still matches `schema`, else the earliest answer does. The trace has
    vote.tally's keys (groups, winner, share) plus `by_field` when fields were voted.
    """
    values = [(i, json.loads(text)) for i, text in enumerate(answers) if text is not None]
    if not values:
        raise ValueError("no answers to vote on")
    groups: dict[str, list[int]] = {}
    for index, value in values:
        groups.setdefault(canonical(value), []).append(index)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    trace: dict[str, Any] = {
        "groups": [
            {"answer": answers[members[0]], "members": [names[i] for i in members], "share": len(members) / len(values)}
            for _, members in ordered
        ]
    }
    top = ordered[0][1]
    split = len(top) == 1 and len(values) > 1
    if split and all(isinstance(v, dict) for _, v in values):
        merged, fields, weakest = _field_vote(values, names)
        if schema is None or not errors(merged, schema, limit=1):
            trace.update(winner=None, share=weakest, by_field=fields)
            return JsonWinner(dumps(merged), weakest, by_field=True), trace
        trace["by_field_rejected"] = errors(merged, schema, limit=1)[0]
    share = len(top) / len(values)
    trace.update(winner=names[top[0]], share=share)
    return JsonWinner(answers[top[0]] or "", share), trace


# ------------------------------------------------------------ the arbiter's verdict

VERDICT_FIELDS = ("analysis", "dissent", "confidence", "needs_iteration", "refinement_areas", "synthesis")
"""The JSON verdict's fields, the synthesis last (the order a streaming reader wants)."""


def _rebase_root_refs(node: Any, base: str) -> Any:
    """A copy of `node` whose "#" refs (the user schema's own root) point at `base`."""
    if isinstance(node, dict):
        out = {k: _rebase_root_refs(v, base) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")) and not ref.startswith(("#/$defs/", "#/definitions/")):
            out["$ref"] = base + ref[1:]
        return out
    if isinstance(node, list):
        return [_rebase_root_refs(v, base) for v in node]
    return node


def verdict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a schema-capable arbiter answers in: the verdict's fields, with the
    synthesis an instance of the user's schema. The user's $defs move to the root so
    their references still resolve."""
    inner = {k: v for k, v in schema.items() if k not in ("$defs", "definitions", "$schema")}
    wrapper: dict[str, Any] = {
        "type": "object",
        "properties": {
            "analysis": {"type": "string"},
            "dissent": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "needs_iteration": {"type": "boolean"},
            "refinement_areas": {"type": "array", "items": {"type": "string"}},
            "synthesis": _rebase_root_refs(inner, "#/properties/synthesis"),
        },
        "required": list(VERDICT_FIELDS),
    }
    for key in ("$defs", "definitions"):
        if key in schema:
            wrapper[key] = schema[key]
    return wrapper


def _confidence(value: Any) -> Optional[float]:
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if 1 < value <= 100:  # a percentage
        value /= 100
    return min(1.0, max(0.0, float(value)))


def _areas(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list):
        return []
    return [str(v).strip() for v in value if str(v).strip() and str(v).strip().lower() not in ("none", "n/a")]


_SYNTHESIS_TAG_RE = re.compile(r"<\s*synthesis\s*>", re.IGNORECASE)


def read_verdict(raw: str, schema: dict[str, Any]) -> Any:
    """The arbiter's reply as a `verdict.Verdict` whose synthesis is valid JSON for
    `schema` (printed with `dumps`). InvalidAnswer when it holds none.

    Read in order: a JSON verdict object (what a schema-capable arbiter is asked
    for); the tagged reply with JSON inside <synthesis> (what a tag-only arbiter is
    asked for); a bare instance of the user's schema (an arbiter that skipped the
    verdict: confidence unknown, as for an untagged reply). Tags come before the bare
    value because a tagged analysis may quote a member's JSON first.
    """
    from .verdict import Verdict, parse_verdict

    try:
        value = extract_json(raw)
    except InvalidAnswer:
        value = None
    if isinstance(value, dict) and "synthesis" in value:
        found = errors(value["synthesis"], schema)
        if found:
            raise InvalidAnswer(f"the synthesis does not match the schema: {found[0]}")
        confidence = _confidence(value.get("confidence"))
        needs = value.get("needs_iteration")
        return Verdict(
            synthesis=dumps(value["synthesis"]),
            confidence=confidence,
            needs_iteration=needs is True or (isinstance(needs, str) and needs.strip().lower() in ("true", "yes")),
            refinement_areas=_areas(value.get("refinement_areas")),
            analysis=str(value.get("analysis") or ""),
            dissent=str(value.get("dissent") or ""),
            tagged=True,
            raw=raw,
        )
    if _SYNTHESIS_TAG_RE.search(raw):
        verdict = parse_verdict(raw)
        if verdict.tagged:
            try:
                verdict.synthesis = dumps(parse_answer(verdict.synthesis, schema))
            except InvalidAnswer as ex:
                raise InvalidAnswer(f"the synthesis: {ex}") from None
            return verdict
    if value is None:
        raise InvalidAnswer("the reply holds no JSON verdict and no tagged synthesis")
    found = errors(value, schema)
    if found:
        raise InvalidAnswer(f"the reply does not match the schema: {found[0]}")
    return Verdict(synthesis=dumps(value), confidence=None, tagged=False, raw=raw)

"""Structured output: reading JSON out of model replies, printing it safely,
voting on JSON answers, and reading an arbiter's verdict whose answer is JSON.

A consortium asked for `--schema` must hand back exactly one JSON document that
validates; every member answer and every synthesis passes through here on the way
(checking against the schema is `schema`). Deterministic, so it can be tested
without models.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidAnswer, SchemaProblem
from ..judging.arbiter_reply.grammar import TAG_RE, parse_areas, parse_confidence, parse_flag, remove_think, tag_info
from .schema import canonical, check_schema, errors, escape_unsafe

__all__ = [
    "InvalidAnswer",
    "SchemaProblem",
    "canonical",
    "check_schema",
    "dumps",
    "errors",
    "extract_json",
    "parse_answer",
    "read_verdict",
    "tally",
    "verdict_schema",
]

MAX_SCAN = 200
"""Start positions `extract_json` tries in free text before giving up; bounds the
work a long reply full of braces can cost."""


# ------------------------------------------------------------------ reading JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_FENCE_RE = re.compile(r"```[ \t]*(?:json5?|JSON)?[ \t]*\n(.*?)```", re.DOTALL)
_START_RE = re.compile(r"[\[{]")
_FIRST_IN_OBJECT = frozenset('"}')
_FIRST_IN_ARRAY = frozenset('"{[]-0123456789tfn')


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


def _opens_json(text: str, start: int) -> bool:
    """Whether the "{" or "[" at `start` can begin JSON: what follows it (past
    whitespace) is what JSON allows there. "{curly}" in prose is not an opening."""
    end = len(text)
    pos = start + 1
    while pos < end and text[pos] in " \t\r\n":
        pos += 1
    if pos == end:
        return True  # cut off right there: an opening all the same
    return text[pos] in (_FIRST_IN_OBJECT if text[start] == "{" else _FIRST_IN_ARRAY)


def _span_end(text: str, start: int) -> int:
    """Where the container opening at `start` ends: just past its matching bracket,
    counted outside JSON strings, or the end of the text when it never closes (a
    reply cut off mid-answer)."""
    depth = 0
    in_string = escaped = False
    for pos in range(start, len(text)):
        char = text[pos]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return pos + 1
    return len(text)


def _outer_value(text: str) -> Any:
    """The first JSON object or array in prose that is not inside another one.

    An opening that does not decode (a trailing comma, a reply cut off) is skipped
    whole, with everything nested in it: the inner object of a malformed outer one
    is a part of the answer, never the answer. At most MAX_SCAN openings are tried.
    """
    pos = tried = 0
    while (match := _START_RE.search(text, pos)) and tried < MAX_SCAN:
        start = match.start()
        if not _opens_json(text, start):
            pos = start + 1
            continue
        tried += 1
        try:
            value, _ = _decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            pass
        else:
            if _finite(value):
                return value
        pos = _span_end(text, start)
    raise InvalidAnswer("no JSON object or array found")


def extract_json(text: str) -> Any:
    """The JSON value a model's reply holds.

    Tried in order: the whole reply; the first fenced code block (```json or ```)
    that parses; the first object or array in the prose that is not inside another
    (so "Here it is: {...}" works, a stray number in the prose is not taken for the
    answer, and a malformed or cut-off object gives no answer rather than a part of
    itself). Reasoning blocks are skipped (`grammar.remove_think`): a reasoning
    model's drafts are not its answer. Raises InvalidAnswer when there is none.
    """
    text = remove_think(text)
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
    return _outer_value(text)


# ------------------------------------------------------------ comparing and printing




def dumps(value: Any) -> str:
    """The answer as printed: one line of JSON, readable Unicode, and every character
    a terminal could act on escaped (only possible inside strings, so it stays JSON)."""
    return escape_unsafe(json.dumps(value, ensure_ascii=False))


# ------------------------------------------------------------ answers that validate


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
    members: tuple[int, ...] = ()  # the winning group (none for a field-by-field vote)
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
    answers: Sequence[str | None], names: Sequence[str], schema: dict[str, Any] | None = None
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
    return JsonWinner(answers[top[0]] or "", share, tuple(top)), trace


# ------------------------------------------------------------ the arbiter's verdict

VERDICT_FIELDS = ("analysis", "dissent", "confidence", "needs_iteration", "refinement_areas", "synthesis")
"""The JSON verdict's fields, the synthesis last (the order a streaming reader wants)."""


def _rebase_root_refs(node: Any, base: str) -> Any:
    """A copy of `node` whose "#" refs (the user schema's own root) point at `base`."""
    if isinstance(node, dict):
        out = {k: _rebase_root_refs(v, base) for k, v in node.items()}
        ref = out.get("$ref")
        moved = ("#/$defs/", "#/definitions/")  # these move to the root with the defs
        if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")) and not ref.startswith(moved):
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


def _opens_synthesis(raw: str) -> bool:
    """Whether the reply has an opening <synthesis> tag: it was written in tags."""
    return any(tag_info(m) == ("synthesis", False, False) for m in TAG_RE.finditer(raw))


def read_verdict(raw: str, schema: dict[str, Any]) -> Any:
    """The arbiter's reply as a `verdict.Verdict` whose synthesis is valid JSON for
    `schema` (printed with `dumps`). InvalidAnswer when it holds none.

    Read in order: a JSON verdict object (what a schema-capable arbiter is asked
    for); the tagged reply with JSON inside <synthesis> (what a tag-only arbiter is
    asked for, read by the one rule of `reader.parse_verdict`); a bare instance of the
    user's schema (an arbiter that skipped the verdict: confidence unknown, as for an
    untagged reply). Tags come before the bare value because a tagged analysis may
    quote a member's JSON first. The JSON verdict's fields are read with the same
    functions as the tags' (`grammar.parse_confidence`, `parse_flag`, `parse_areas`).
    """
    from ..judging.arbiter_reply.reader import parse_verdict
    from ..judging.arbiter_reply.verdict import Verdict

    try:
        value = extract_json(raw)
    except InvalidAnswer:
        value = None
    if isinstance(value, dict) and "synthesis" in value:
        found = errors(value["synthesis"], schema)
        if found:
            raise InvalidAnswer(f"its synthesis does not match the schema: {found[0]}")
        return Verdict(
            synthesis=dumps(value["synthesis"]),
            confidence=parse_confidence(value.get("confidence")),
            needs_iteration=parse_flag(value.get("needs_iteration")),
            refinement_areas=parse_areas(value.get("refinement_areas")),
            analysis=str(value.get("analysis") or ""),
            dissent=str(value.get("dissent") or ""),
            tagged=True,
            raw=raw,
        )
    if _opens_synthesis(raw):
        verdict = parse_verdict(raw)
        if verdict.tagged:
            try:
                verdict.synthesis = dumps(parse_answer(verdict.synthesis, schema))
            except InvalidAnswer as ex:
                raise InvalidAnswer(f"its synthesis: {ex}") from None
            return verdict
    if value is None:
        raise InvalidAnswer("no JSON verdict and no tagged synthesis found")
    found = errors(value, schema)
    if found:
        raise InvalidAnswer(f"its reply does not match the schema: {found[0]}")
    return Verdict(synthesis=dumps(value), confidence=None, tagged=False, raw=raw)

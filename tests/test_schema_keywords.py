"""structured.schema: every JSON Schema keyword counts, and no answer can make the
checking raise (only messages)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_consortium.errors import SchemaProblem
from llm_consortium.structured.formats import JsonFormat
from llm_consortium.structured.schema import check_schema, errors
from llm_consortium.types import Outcome, Reply

from helpers import subprocess_env

# Keywords a hand-written subset would skip: each schema with an answer it must
# accept and one it must refuse.
KEYWORDS = [
    ({"patternProperties": {"^n_": {"type": "integer"}}}, {"n_a": 1, "other": "x"}, {"n_a": "1"}),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"abc": 1}, {"ABC": 1}),
    ({"propertyNames": {"maxLength": 3}}, {"abc": 1}, {"abcd": 1}),
    (
        {"if": {"properties": {"kind": {"const": "dog"}}}, "then": {"required": ["bark"]}, "else": {"required": ["meow"]}},
        {"kind": "dog", "bark": True},
        {"kind": "dog", "meow": True},
    ),
    ({"if": {"type": "integer"}, "then": {"minimum": 10}}, 12, 3),
    ({"contains": {"type": "string"}}, [1, "a"], [1, 2]),
    ({"contains": {"type": "string"}, "minContains": 2, "maxContains": 2}, ["a", "b", 3], ["a", 3]),
    ({"dependentRequired": {"card": ["billing"]}}, {"card": 1, "billing": 2}, {"card": 1}),
    ({"dependentSchemas": {"card": {"required": ["billing"]}}}, {"billing": 2}, {"card": 1}),
    (
        {"allOf": [{"properties": {"a": {}}}], "unevaluatedProperties": False},
        {"a": 1},
        {"a": 1, "b": 2},
    ),
    ({"prefixItems": [{"type": "string"}], "unevaluatedItems": False}, ["a"], ["a", 1]),
    ({"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}, {"n": 1}, {"m": 1}),
]


@pytest.mark.parametrize("schema, good, bad", KEYWORDS)
def test_every_keyword_is_checked(schema, good, bad):
    check_schema(schema)
    assert errors(good, schema) == []
    found = errors(bad, schema)
    assert found, f"{bad!r} passed {schema!r}"
    assert all("\n" not in message and ": " in message for message in found)


def test_messages_name_the_place_and_the_problem():
    assert errors({"n_a": "1"}, KEYWORDS[0][0]) == ['n_a: expected integer, got string "1"']
    assert errors({"a": 1, "b": 2, "c": 3}, {"properties": {"a": {}}, "additionalProperties": False}) == [
        "the answer: unexpected field 'b' (and 1 more)"
    ]
    assert errors({"x": {"y": 1}}, {"properties": {"x": {"properties": {"y": False}}}}) == [
        "x.y: no value is allowed here"
    ]


@pytest.mark.parametrize("step", [2, 3, 1.5, 0.7])
def test_multiple_of_is_exact_and_a_huge_integer_cannot_overflow(step):
    huge = 10**400 * 42  # a multiple of every step above
    schema = {"multipleOf": step}
    assert errors(huge, schema) == []
    assert errors(huge + 1, schema) == [f"the answer: {str(huge + 1)[:37]}... must be a multiple of {step}"]
    assert errors(0.3, {"multipleOf": 0.1}) == []
    assert errors(0.35, {"multipleOf": 0.1}) == ["the answer: 0.35 must be a multiple of 0.1"]


def test_a_schema_written_for_another_draft_is_read_as_that_draft():
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": True}
    assert errors(4, draft4) == [] and errors(5, draft4)
    with pytest.raises(SchemaProblem, match="exclusiveMaximum"):
        check_schema({"maximum": 5, "exclusiveMaximum": True})  # not a number in 2020-12


@pytest.mark.parametrize(
    "schema, message",
    [
        ({"properties": {"a": {"pattern": "(?<x"}}}, "pattern"),
        ({"properties": {"a": {"$ref": "other.json#/x"}}}, "only local"),
        ({"allOf": [{"$ref": "#/allOf/1"}, {"$ref": "#/allOf/0"}]}, "loops"),
        ({"minLength": -1}, "minLength"),
    ],
)
def test_schemas_that_cannot_be_checked_are_refused_up_front(schema, message):
    with pytest.raises(SchemaProblem, match=message):
        check_schema(schema)


NUMERIC = {
    "type": "object",
    "properties": {
        "n": {"multipleOf": 0.5, "minimum": -1e308, "exclusiveMaximum": 1e308},
        "s": {"pattern": "^a", "maxLength": 3},
        "tree": {"$ref": "#"},
    },
    "propertyNames": {"maxLength": 5},
}
huge_numbers = st.integers(min_value=-(10**500), max_value=10**500) | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | huge_numbers | st.text(max_size=6)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(["n", "s", "tree", "other!"]), kids, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(values)
def test_any_value_gives_messages_never_an_exception(value):
    found = errors(value, NUMERIC)
    assert all(isinstance(m, str) and "\n" not in m for m in found)


def test_an_answer_nested_deeper_than_the_checker_can_go_is_invalid_not_a_crash():
    deep: object = {}
    for _ in range(5000):
        deep = {"tree": deep}
    assert errors(deep, NUMERIC) == ["the answer: nested too deeply to check"]


def outcome(text: str) -> Outcome:
    return Outcome(reply=Reply(text, 1, 1))


def test_a_400_digit_answer_fails_its_member_with_the_reason_in_the_trace():
    json_format = JsonFormat({"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 2}}})
    good, odd = outcome('{"n": ' + "4" * 400 + "}"), outcome('{"n": ' + "3" * 400 + "}")
    json_format.check(good)
    json_format.check(odd)
    assert good.ok and good.reply is not None and good.reply.text == '{"n": ' + "4" * 400 + "}"
    assert not odd.ok and odd.error is not None and "must be a multiple of 2" in odd.error
    traced = json_format.traced(odd, {"model": "m"})
    assert traced["rejected"].startswith('{"n": 333')


def test_jsonschema_is_imported_only_when_a_schema_is_checked(tmp_path):
    """`llm` imports the plugin on every command: listing models must not pay for
    the library, a text prompt neither."""
    code = (
        "import sys, llm\n"
        "llm.get_models()\n"
        "from llm_consortium.structured.formats import format_for\n"
        "format_for(None)\n"
        "print('jsonschema' in sys.modules)\n"
        "format_for({'type': 'object'})\n"
        "print('jsonschema' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(tmp_path), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]

"""structured.py: reading JSON from replies, validating it, canonical form, JSON votes."""

from __future__ import annotations

import json
import random
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm.utils import multi_schema, schema_dsl
from pydantic import BaseModel

from llm_consortium.errors import InvalidAnswer, SchemaProblem
from llm_consortium.structured.json_answers import (
    canonical,
    check_schema,
    dumps,
    errors,
    extract_json,
    parse_answer,
    tally,
)

DOG = schema_dsl("name, age int, good bool")

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
containers = st.lists(json_values, max_size=4) | st.dictionaries(st.text(max_size=8), json_values, max_size=4)


# ------------------------------------------------------------------ extract_json


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ('  [1, 2]\n', [1, 2]),
        ('Here you go:\n```json\n{"a": 1}\n```\nHope it helps', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('I counted 3 dogs. {"dogs": 3} is the answer {"dogs": 4}', {"dogs": 3}),
        ('The format [name, age]: {"name": "Rex"}', {"name": "Rex"}),
        ('```json\nnot json\n```\n```json\n{"b": 2}\n```', {"b": 2}),
        ('"just a string"', "just a string"),
        ("42", 42),
    ],
)
def test_extract_json_finds_the_first_value(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "the answer is 42", "{broken", '{"a": NaN}', "[1e999]", "[" * 5000])
def test_extract_json_refuses_text_without_json(text):
    with pytest.raises(InvalidAnswer):
        extract_json(text)


def test_extract_json_bounds_its_work_on_brace_floods():
    with pytest.raises(InvalidAnswer):  # the real object is past the scan limit
        extract_json("[1,] " * 1000 + '{"a": 1}')
    with pytest.raises(InvalidAnswer):  # inside brackets that never close
        extract_json("[" * 100_000 + '{"a": 1}')
    assert extract_json("{" * 100_000 + '{"a": 1}') == {"a": 1}  # "{{" opens no JSON


@given(containers, st.text(alphabet=st.characters(blacklist_characters="{[`"), max_size=30),
       st.text(max_size=30), st.sampled_from(["plain", "fence", "json-fence"]))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_extract_json_round_trips_values_in_prose(value, before, after, wrap):
    body = json.dumps(value, indent=random.choice([None, 2]))
    if wrap == "fence":
        body = f"```\n{body}\n```"
    elif wrap == "json-fence":
        body = f"```json\n{body}\n```"
    assert canonical(extract_json(f"{before}\n{body}\n{after}")) == canonical(value)


# --------------------------------------------------------------- canonical, dumps


def test_canonical_ignores_key_order_whitespace_and_number_spelling():
    a = json.loads('{"b": [1.0, 2], "a": {"y": 1e0, "x": -0.0}}')
    b = json.loads('{"a":{"x":0,"y":1},"b":[1,2.0]}')
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize("a, b", [(True, 1), (False, 0), (None, 0), ("1", 1), ([1, 2], [2, 1]), (1.5, 1)])
def test_canonical_keeps_real_differences(a, b):
    assert canonical(a) != canonical(b)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_canonical_is_invariant_under_key_order_and_indent(value, rnd):
    items = list(value.items())
    rnd.shuffle(items)
    reordered = json.loads(json.dumps(dict(items), indent=rnd.choice([None, 1, 4])))
    assert canonical(reordered) == canonical(value)


@given(json_values)
def test_dumps_is_one_line_of_the_same_json_with_no_terminal_controls(value):
    text = dumps(value)
    assert canonical(json.loads(text)) == canonical(value)
    assert "\n" not in text
    assert not any(unicodedata.category(c) == "Cc" for c in text)
    assert not any(c in text for c in "\u2028\u2029\u202e\u2066")


def test_dumps_keeps_readable_unicode():
    assert dumps({"city": "Zürich"}) == '{"city": "Zürich"}'
    assert dumps({"x": "\x1b[31m\x9b"}) == '{"x": "\\u001b[31m\\u009b"}'


# ------------------------------------------------------------------- validation


def test_llm_dsl_schema_accepts_a_matching_object():
    assert errors({"name": "Rex", "age": 3, "good": True}, DOG) == []
    assert errors({"name": "Rex", "age": 3.0, "good": True}, DOG) == []  # 3.0 is an integer


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"name": "Rex", "age": "3", "good": True}, "age: expected integer, got string"),
        ({"name": "Rex", "age": 3.5, "good": True}, "age: expected integer, got number"),
        ({"name": "Rex", "age": True, "good": True}, "age: expected integer, got boolean"),
        ({"name": "Rex", "good": True}, "the answer: missing required field 'age'"),
        (["Rex"], "the answer: expected object, got array"),
    ],
)
def test_llm_dsl_schema_names_the_problem(value, problem):
    assert errors(value, DOG)[0].startswith(problem)


def test_multi_schema_checks_every_item():
    schema = multi_schema(DOG)
    good = {"name": "Rex", "age": 3, "good": True}
    assert errors({"items": [good, good]}, schema) == []
    found = errors({"items": [good, {"name": "Ada", "age": "two", "good": False}]}, schema)
    assert found == ['items[1].age: expected integer, got string "two"']


class Owner(BaseModel):
    name: str
    nickname: str | None = None


class Pet(BaseModel):
    name: str
    kind: str
    legs: int
    owner: Owner
    tags: list[str]


def test_pydantic_schema_with_refs_and_optional_fields():
    schema = Pet.model_json_schema()
    good = {"name": "Rex", "kind": "dog", "legs": 4, "owner": {"name": "Ada", "nickname": None}, "tags": []}
    assert errors(good, schema) == []
    bad = {**good, "owner": {"nickname": 3}, "tags": ["a", 1]}
    assert errors(bad, schema) == [
        "owner: missing required field 'name'",
        "owner.nickname: 3 matches none of the allowed forms",
        "tags[1]: expected string, got integer 1",
    ]


@pytest.mark.parametrize(
    "schema, good, bad",
    [
        ({"enum": ["a", 1]}, 1.0, "b"),
        ({"const": {"x": 1}}, {"x": 1.0}, {"x": 2}),
        ({"type": ["string", "null"]}, None, 0),
        ({"minimum": 0, "exclusiveMaximum": 10}, 0, 10),
        # draft 4's flag form, read as draft 4 because the schema says so
        ({"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 0, "exclusiveMinimum": True}, 1, 0),
        ({"minLength": 2, "maxLength": 3}, "abc", "abcd"),
        ({"pattern": "^[a-z]+$"}, "abc", "ABC"),
        ({"minItems": 1, "maxItems": 2, "uniqueItems": True}, [1, 2], [1, 1.0]),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1.5, 1),
        ({"not": {"type": "string"}}, 1, "x"),
        ({"allOf": [{"type": "integer"}, {"minimum": 3}]}, 3, 2),
        ({"multipleOf": 0.1}, 0.3, 0.35),
        ({"type": "object", "additionalProperties": False, "properties": {"a": {}}}, {"a": 1}, {"a": 1, "b": 2}),
        ({"additionalProperties": {"type": "integer"}}, {"a": 1}, {"a": "1"}),
        ({"prefixItems": [{"type": "string"}], "items": {"type": "integer"}}, ["a", 1], ["a", "b"]),
        ({"minProperties": 1}, {"a": 1}, {}),
    ],
)
def test_keywords(schema, good, bad):
    assert errors(good, schema) == []
    assert errors(bad, schema)


def test_boolean_subschemas():
    schema = {"properties": {"any": True, "never": False}}
    assert errors({"any": [1]}, schema) == []
    assert errors({"never": 1}, schema) == ["never: no value is allowed here"]
    assert errors(1, {"not": {}})


def test_unknown_keywords_and_formats_are_annotations():
    assert errors("not-a-date", {"type": "string", "format": "date", "x-foo": 1, "title": "T"}) == []


@pytest.mark.parametrize(
    "schema, message",
    [
        ({"type": "strnig"}, "unknown type 'strnig'"),
        ({"properties": {"a": {"$ref": "#/$defs/Missing"}}}, "points nowhere"),
        ({"$ref": "https://example.com/s.json"}, "only local \\$ref"),
        ([1], "must be a JSON object"),
    ],
)
def test_check_schema_refuses_what_it_cannot_check(schema, message):
    with pytest.raises(SchemaProblem, match=message):
        check_schema(schema)


def test_check_schema_accepts_pydantic_dsl_and_recursive_schemas():
    check_schema(Pet.model_json_schema())
    check_schema(multi_schema(DOG))
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    check_schema(tree)
    assert errors({"kids": [{"kids": []}]}, tree) == []
    assert errors({"kids": [{"kids": [1]}]}, tree) == ["kids[0].kids[0]: expected object, got integer 1"]


def test_ref_loops_are_a_schema_problem_not_a_hang():
    with pytest.raises(SchemaProblem, match="loops"):
        errors(1, {"$ref": "#"})


def test_parse_answer_extracts_validates_and_counts_problems():
    assert parse_answer('```json\n{"name": "Rex", "age": 3, "good": true}\n```', DOG)["age"] == 3
    with pytest.raises(InvalidAnswer, match=r"missing required field 'age' \(and 1 more\)"):
        parse_answer('{"name": "Rex"}', DOG)


DSL_TYPES = {"str": st.text(max_size=5), "int": st.integers(), "float": st.floats(allow_nan=False, allow_infinity=False), "bool": st.booleans()}
WRONG = {"str": 1, "int": "1", "float": "1.5", "bool": "yes"}


@st.composite
def dsl_schema_and_value(draw):
    names = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=5, unique=True))
    types = [draw(st.sampled_from(sorted(DSL_TYPES))) for _ in names]
    schema = schema_dsl(", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True)))
    value = {n: draw(DSL_TYPES[t]) for n, t in zip(names, types, strict=True)}
    return schema, value, names, types


@given(dsl_schema_and_value(), st.data())
def test_values_built_for_a_dsl_schema_validate_and_one_wrong_field_is_named(case, data):
    schema, value, names, types = case
    assert errors(value, schema) == []
    index = data.draw(st.integers(0, len(names) - 1))
    broken = {**value, names[index]: WRONG[types[index]]}
    found = errors(broken, schema)
    assert len(found) == 1 and found[0].startswith(f"{names[index]}: expected")
    missing = {k: v for k, v in value.items() if k != names[index]}
    assert errors(missing, schema) == [f"the answer: missing required field {names[index]!r}"]


# ----------------------------------------------------------------------- voting

NAMES = ["a", "b", "c", "d", "e"]


def texts(*values):
    return [None if v is None else dumps(v) for v in values]


def test_largest_group_wins_ignoring_key_order_and_number_spelling():
    answers = ['{"x": 1, "y": 2}', '{"y": 2.0, "x": 1}', '{"x": 3, "y": 2}']
    winner, trace = tally(answers, NAMES)
    assert json.loads(winner.answer) == {"x": 1, "y": 2}
    assert winner.share == pytest.approx(2 / 3) and not winner.by_field and winner.members == (0, 1)
    assert trace["winner"] == "a"
    assert [g["members"] for g in trace["groups"]] == [["a", "b"], ["c"]]


def test_failed_members_do_not_vote():
    winner, _ = tally([None, *texts({"x": 1}, {"x": 2}, {"x": 2})], NAMES)
    assert json.loads(winner.answer) == {"x": 2} and winner.share == pytest.approx(2 / 3)


def test_no_two_agree_votes_field_by_field():
    answers = texts(
        {"name": "Rex", "age": 3, "good": True},
        {"name": "Rex", "age": 4, "good": False},
        {"name": "Max", "age": 3, "good": False},
    )
    winner, trace = tally(answers, NAMES, DOG)
    assert winner.by_field
    assert json.loads(winner.answer) == {"name": "Rex", "age": 3, "good": False}
    assert winner.share == pytest.approx(2 / 3)
    assert trace["winner"] is None
    assert trace["by_field"]["age"] == {"value": 3, "absent": False, "members": ["a", "c"], "share": pytest.approx(2 / 3)}


def test_field_vote_ties_go_to_the_earliest_member_and_absence_is_a_vote():
    answers = texts({"a": 1, "note": "x"}, {"a": 2}, {"a": 3})
    winner, trace = tally(answers, NAMES)
    assert json.loads(winner.answer) == {"a": 1}  # "note" is absent in most answers
    assert trace["by_field"]["note"]["absent"] is True


def test_field_vote_that_breaks_the_schema_falls_back_to_the_earliest_answer():
    schema = {"type": "object", "maxProperties": 2}
    answers = texts({"a": 1, "b": 1}, {"a": 1, "c": 1}, {"b": 2, "c": 1}, {"b": 3, "c": 4})
    winner, trace = tally(answers, NAMES, schema)  # the merge {"a","b","c"} has 3 fields
    assert json.loads(winner.answer) == {"a": 1, "b": 1} and not winner.by_field
    assert winner.share == pytest.approx(1 / 4)
    assert "by_field_rejected" in trace


def test_non_object_answers_that_all_differ_keep_the_earliest():
    winner, _ = tally(texts([1], [2], [3]), NAMES)
    assert json.loads(winner.answer) == [1] and winner.share == pytest.approx(1 / 3)


def test_tally_needs_an_answer():
    with pytest.raises(ValueError):
        tally([None, None], NAMES)


small_objects = st.fixed_dictionaries({"x": st.integers(0, 2), "y": st.sampled_from(["p", "q"])})


@given(st.lists(small_objects, min_size=1, max_size=5), st.randoms())
def test_vote_result_does_not_depend_on_key_order_and_a_strict_majority_always_wins(values, rnd):
    winner, _ = tally(texts(*values), NAMES)
    reordered = [json.dumps(dict(reversed(list(v.items())))) for v in values]
    again, _ = tally(reordered, NAMES)
    assert canonical(json.loads(winner.answer)) == canonical(json.loads(again.answer))
    counts = {}
    for v in values:
        counts[canonical(v)] = counts.get(canonical(v), 0) + 1
    top, n = max(counts.items(), key=lambda kv: kv[1])
    if n * 2 > len(values):
        shuffled = list(values)
        rnd.shuffle(shuffled)
        for order in (values, shuffled):
            assert canonical(json.loads(tally(texts(*order), NAMES)[0].answer)) == top
    for key in ("x", "y"):  # a field with a strict majority keeps it in a field vote
        field_counts = {}
        for v in values:
            field_counts[v[key]] = field_counts.get(v[key], 0) + 1
        best, m = max(field_counts.items(), key=lambda kv: kv[1])
        if winner.by_field and m * 2 > len(values):
            assert json.loads(winner.answer)[key] == best


def test_extract_json_skips_reasoning_blocks():
    assert extract_json('<think>maybe {"a": 0}?</think>\n{"a": 1}') == {"a": 1}
    assert extract_json("<THINKING>[0]</THINKING>[1]") == [1]
    with pytest.raises(InvalidAnswer):  # all reasoning, no answer (as for the arbiter)
        extract_json('<think>unclosed {"a": 2}')
    assert extract_json('drafts {"a": 0} lost </think> {"a": 3}') == {"a": 3}
    with pytest.raises(InvalidAnswer):
        extract_json("<think>" * 50_000)


# ------------------------------------------------------------ the arbiter's verdict

from llm_consortium.structured.json_answers import read_verdict, verdict_schema  # noqa: E402


def test_verdict_schema_wraps_the_user_schema_and_keeps_refs_working():
    schema = Pet.model_json_schema()
    wrapper = verdict_schema(schema)
    assert list(wrapper["properties"]) == ["analysis", "dissent", "confidence", "needs_iteration", "refinement_areas", "synthesis"]
    assert "$defs" in wrapper and "$defs" not in wrapper["properties"]["synthesis"]
    check_schema(wrapper)
    pet = {"name": "Rex", "kind": "dog", "legs": 4, "owner": {"name": "Ada"}, "tags": []}
    verdict = {"analysis": "", "dissent": "", "confidence": 0.9, "needs_iteration": False, "refinement_areas": [], "synthesis": pet}
    assert errors(verdict, wrapper) == []
    assert errors({**verdict, "synthesis": {**pet, "owner": {}}}, wrapper) == ["synthesis.owner: missing required field 'name'"]


def test_verdict_schema_rebases_root_references():
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    wrapper = verdict_schema(tree)
    base = {"analysis": "", "dissent": "", "confidence": 1, "needs_iteration": False, "refinement_areas": []}
    assert errors({**base, "synthesis": {"kids": [{"kids": []}]}}, wrapper) == []
    assert errors({**base, "synthesis": {"kids": [1]}}, wrapper) == ["synthesis.kids[0]: expected object, got integer 1"]


def test_read_verdict_from_a_json_verdict():
    raw = json.dumps({"analysis": "A and B agree", "dissent": "", "confidence": 0.85, "needs_iteration": "true",
                      "refinement_areas": ["check age", "none"], "synthesis": {"name": "Rex", "age": 3, "good": True}})
    verdict = read_verdict(raw, DOG)
    assert json.loads(verdict.synthesis) == {"name": "Rex", "age": 3, "good": True}
    assert verdict.confidence == pytest.approx(0.85) and verdict.needs_iteration
    assert verdict.refinement_areas == ["check age"] and verdict.analysis == "A and B agree" and verdict.raw == raw


def test_read_verdict_from_tags_ignores_json_quoted_in_the_analysis():
    raw = (
        '<analysis>A said {"name": "Max", "age": 1, "good": false}</analysis>'
        '<synthesis>```json\n{"name": "Rex", "age": 3, "good": true}\n```</synthesis>'
        "<confidence>0.7</confidence><needs_iteration>false</needs_iteration>"
    )
    verdict = read_verdict(raw, DOG)
    assert json.loads(verdict.synthesis)["name"] == "Rex" and verdict.confidence == 0.7 and verdict.tagged


def test_read_verdict_takes_a_bare_answer_with_unknown_confidence():
    verdict = read_verdict('{"name": "Rex", "age": 3, "good": true}', DOG)
    assert verdict.confidence is None and not verdict.tagged and json.loads(verdict.synthesis)["age"] == 3


@pytest.mark.parametrize(
    "raw, message",
    [
        ('{"confidence": 1, "synthesis": {"name": "Rex"}}', "its synthesis does not match the schema: the answer: missing required field 'age'"),
        ("<synthesis>Rex, 3 years old</synthesis><confidence>1</confidence>", "its synthesis: no JSON object or array found"),
        ("I think it is Rex.", "no JSON verdict and no tagged synthesis found"),
        ('{"name": "Rex", "age": "3", "good": true}', "its reply does not match the schema: age: expected integer"),
    ],
)
def test_read_verdict_refuses_an_invalid_synthesis(raw, message):
    with pytest.raises(InvalidAnswer) as info:
        read_verdict(raw, DOG)
    assert message in str(info.value)


def test_error_messages_quote_model_text_inertly():
    [message] = errors({"age": "\x1b]0;pwned\x07\x9b31m"}, {"properties": {"age": {"type": "integer"}}})
    assert not any(unicodedata.category(c) == "Cc" for c in message)
    assert "\\u009b" in message
    [message] = errors({"\x1b[2J": 1}, {"additionalProperties": {"type": "string"}})
    assert message.startswith('"\\u001b[2J": expected string')

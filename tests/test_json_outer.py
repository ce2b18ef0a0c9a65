"""structured.json_answers: an answer is the reply's outer JSON value, never a part
of a malformed one."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llm.utils import schema_dsl

from llm_consortium.errors import InvalidAnswer
from llm_consortium.structured.json_answers import canonical, extract_json, parse_answer, read_verdict

PERSON = schema_dsl("name, age int")
BOB = '{"name": "Bob", "age": 40}'
ADA = '{"name": "Ada", "age": 36, "spouse": ' + BOB


@pytest.mark.parametrize(
    "reply",
    [
        ADA + ",}",  # trailing comma
        ADA,  # cut off
        "Sure! " + ADA + ",}\nHope that helps.",
        "```json\n" + ADA + ",}\n```",
        "[" + BOB + ",]",
        '{"people": [' + BOB + ", " + BOB,
        '{"note": "a } in a string", "spouse": ' + BOB + ",}",
    ],
)
def test_a_malformed_outer_value_gives_no_answer(reply):
    with pytest.raises(InvalidAnswer):
        parse_answer(reply, PERSON)


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("draft: " + ADA + ",} final: " + BOB, {"name": "Bob", "age": 40}),  # the next outer value
        ("Use {curly} braces: " + BOB, {"name": "Bob", "age": 40}),  # "{curly}" is prose
        ("A [citation] then " + BOB, {"name": "Bob", "age": 40}),
        ("{{ not json }} " + BOB, {"name": "Bob", "age": 40}),
        (ADA + "}, and that is all", {"name": "Ada", "age": 36, "spouse": {"name": "Bob", "age": 40}}),
    ],
)
def test_prose_brackets_are_not_outer_values(reply, expected):
    assert parse_answer(reply, PERSON) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '{"confidence": 1.0, "synthesis": ' + ADA + ',}, "analysis": ""}',
        '{"confidence": 1.0, "synthesis": ' + ADA,
        "<confidence>1</confidence><synthesis>" + ADA + ",}</synthesis>",
        "<synthesis>```json\n" + ADA + ",}\n```</synthesis>",
    ],
)
def test_a_malformed_verdict_is_rejected_not_read_as_its_inner_object(raw):
    with pytest.raises(InvalidAnswer):
        read_verdict(raw, PERSON)


def test_a_valid_json_verdict_still_reads_its_confidence_as_written():
    raw = json.dumps({"analysis": "", "confidence": "85%", "synthesis": {"name": "Ada", "age": 36}})
    assert read_verdict(raw, PERSON).confidence == pytest.approx(0.85)
    raw = json.dumps({"confidence": 10**400, "synthesis": {"name": "Ada", "age": 36}})
    assert read_verdict(raw, PERSON).confidence is None  # out of range: no confidence, never 1.0


objects = st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), min_size=1, max_size=4)


@given(objects, objects, st.sampled_from([",}", "", "}}", ", "]))
def test_an_inner_object_is_never_the_answer(outer, inner, ending):
    """Whatever follows a nested object, the answer is the whole outer object or nothing."""
    text = json.dumps(outer)[:-1] + ', "inner": ' + json.dumps(inner) + ending
    try:
        found = extract_json(text)
    except InvalidAnswer:
        return
    assert canonical(found) != canonical(inner) or canonical(found) == canonical({**outer, "inner": inner})
    assert isinstance(found, dict) and "inner" in found

"""judging.arbiter_reply.grammar: the one place replies' tags, reasoning blocks and confidences
are defined, and every reader of a reply uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_consortium.judging.arbiter_reply.grammar import TAG_RE, parse_confidence, remove_think, strip_tags, tag_info
from llm_consortium.judging.arbiter_reply.reader import ReplyReader, parse_verdict
from llm_consortium.structured.json_answers import extract_json

PACKAGE = Path(__file__).resolve().parent.parent / "llm_consortium"


def test_no_other_module_defines_a_tag_or_reasoning_pattern():
    pattern = re.compile(r"(think|synthesis|confidence)\W*(\(\?:ing\))?", re.IGNORECASE)
    for path in PACKAGE.rglob("*.py"):
        if path.name == "grammar.py":
            continue
        for line in path.read_text().splitlines():
            if "re.compile(" in line or line.lstrip().startswith(("r\"<", "rf\"<")):
                assert not pattern.search(line), f"{path.name}: {line.strip()}"


@pytest.mark.parametrize(
    "tag, info",
    [
        ("<synthesis>", ("synthesis", False, False)),
        ("< / Needs-Iteration >", ("needs_iteration", True, False)),
        ("<refinement areas/>", ("refinement_areas", False, True)),
        ("<THINKING>", ("think", False, False)),
    ],
)
def test_every_spelling_of_a_tag_has_one_canonical_name(tag, info):
    m = TAG_RE.fullmatch(tag)
    assert m is not None and tag_info(m) == info


@pytest.mark.parametrize(
    "written, expected",
    [("0.85", 0.85), ("85%", 0.85), ("8 out of 10", None), ("high", None), (0.85, 0.85), (85, None),
     (1, 1.0), (True, None), (None, None), ([0.5], None), (10**400, None), (-(10**400), None), (float("nan"), None)],
)
def test_one_confidence_parser_for_text_and_json(written, expected):
    assert parse_confidence(written) == (pytest.approx(expected) if expected is not None else None)


REASONING = [
    ("<think>draft</think>answer", "answer"),
    ("<thinking>a<think>b</think>c</thinking>answer", "answer"),
    ("drafts</think>answer", "answer"),
    ("<think>never closed <synthesis>kept", "<synthesis>kept"),
]


@pytest.mark.parametrize("reply, visible", REASONING)
def test_remove_think(reply, visible):
    assert remove_think(reply) == visible


@pytest.mark.parametrize("reply", ['<think>{"a": 0}</think>{"a": 1}', '{"a": 0}</think>{"a": 1}'])
def test_the_json_reader_and_the_verdict_parser_skip_the_same_reasoning(reply):
    assert extract_json(reply) == {"a": 1}
    assert parse_verdict(reply).synthesis == '{"a": 1}'


@given(st.lists(st.sampled_from(["<think>", "</think>", "<synthesis>", "</synthesis>", "<confidence>", "0.8",
                                 "</confidence>", "<needs_iteration>", "no", "</needs_iteration>", "x", "<syn"]),
                max_size=14).map("".join))
def test_the_streaming_reader_and_the_whole_reply_parser_agree(reply):
    reader = ReplyReader()
    for char in reply:
        reader.feed(char)
    reader.finish()
    streamed, whole = reader.verdict(), parse_verdict(reply)
    if reader.head is None:
        assert streamed == whole
    assert not TAG_RE.search(streamed.synthesis) and strip_tags(streamed.synthesis) == streamed.synthesis

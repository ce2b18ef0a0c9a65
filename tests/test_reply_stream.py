"""The streaming reader of the arbiter's reply: whatever the chunking, the same text is
printed once, tag-free, and only for a verdict-first reply."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_consortium.judging.arbiter_reply.reader import ReplyReader, parse_verdict
from llm_consortium.judging.arbiter_reply.verdict import parse_head

# Independent of the module's regexes: any known tag, any case, any inner spacing.
ANY_TAG = re.compile(
    r"<\s*/?\s*(analysis|dissent|synthesis|confidence|needs[\s_-]*iteration|"
    r"refinement[\s_-]*areas|think|thinking)\s*/?\s*>",
    re.IGNORECASE,
)

HEAD = (
    "<analysis>A and B agree.</analysis>\n<dissent></dissent>\n"
    "<confidence>0.9</confidence>\n<needs_iteration>false</needs_iteration>\n"
    "<refinement_areas>\n</refinement_areas>\n"
)

NAMES = ["analysis", "dissent", "synthesis", "confidence", "needs_iteration", "refinement_areas",
         "think", "thinking", "Synthesis", "SYNTHESIS", "Needs-Iteration", "refinement areas"]
TAGS = [
    f"<{a}{slash}{name}{b}{end}>"
    for name in NAMES
    for slash in ("", "/")
    for a, b in (("", ""), (" ", " "), ("", "\n"))
    for end in ("", "/")
]
FRAGMENTS = st.one_of(
    st.sampled_from(TAGS),
    st.sampled_from(TAGS),
    st.text(max_size=10),
    st.sampled_from(["<", ">", "/", "<syn", "thesis>", "</", "\r", "\n", "\r\n", " ", "0.9", "true",
                     "false", "<b>", "a < b", HEAD, "<synthesis>", "</synthesis>", "<think>", "</think>"]),
)
REPLIES = st.one_of(
    st.lists(FRAGMENTS, max_size=25).map("".join),
    st.lists(FRAGMENTS, max_size=20).map(lambda parts: HEAD + "<synthesis>" + "".join(parts)),
)


def read(raw: str, cuts: list[int] | None = None) -> tuple[ReplyReader, list[str]]:
    """Feed `raw` cut at `cuts` (None: whole), then finish; the reader and each piece."""
    reader = ReplyReader()
    points = sorted({c for c in (cuts or []) if 0 < c < len(raw)})
    bounds = [0, *points, len(raw)]
    pieces = [reader.feed(raw[a:b]) for a, b in itertools.pairwise(bounds)]
    pieces.append(reader.finish())
    return reader, pieces


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=REPLIES, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=40))
def test_any_chunking_prints_the_same_text_as_the_whole_reply(raw, cuts):
    whole, whole_pieces = read(raw)
    chunked, pieces = read(raw, cuts)
    printed = "".join(pieces)
    assert printed == "".join(whole_pieces) == chunked.text
    assert chunked.head == whole.head
    assert chunked.verdict() == whole.verdict()
    assert not ANY_TAG.search(printed)
    assert printed == printed.strip()
    if chunked.head is None:
        assert printed == ""
    if printed:
        assert chunked.verdict().synthesis == printed


@settings(max_examples=300, deadline=None)
@given(
    body=st.text(alphabet=st.characters(blacklist_characters="<"), max_size=80),
    confidence=st.floats(min_value=0, max_value=1),
    again=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
)
def test_verdict_first_reply_streams_its_synthesis(body, confidence, again, cuts):
    raw = (
        f"<analysis>a</analysis><confidence>{confidence!r}</confidence>"
        f"<needs_iteration>{str(again).lower()}</needs_iteration>"
        f"<refinement_areas>- more</refinement_areas><synthesis>{body}</synthesis>"
    )
    reader, pieces = read(raw, cuts)
    expected = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    assert "".join(pieces) == expected
    assert reader.head is not None
    assert reader.head.confidence == confidence
    assert reader.head.needs_iteration is again
    if expected:
        verdict = reader.verdict()
        whole = parse_verdict(raw)
        assert (verdict.synthesis, verdict.confidence, verdict.needs_iteration, verdict.refinement_areas) == (
            whole.synthesis, whole.confidence, whole.needs_iteration, whole.refinement_areas
        )


def test_the_first_words_are_printable_before_the_reply_ends():
    reader = ReplyReader()
    assert reader.feed(HEAD) == ""
    assert reader.head is None
    assert reader.feed("<synthesis>\nParis is") == "Paris is"
    assert reader.head is not None and reader.head.confidence == 0.9
    assert reader.feed(" the capital") == " the capital"
    assert reader.feed(".\n</synth") == "."
    assert reader.feed("esis>") == ""
    assert reader.finish() == ""
    assert reader.verdict().synthesis == "Paris is the capital."


@pytest.mark.parametrize(
    "chunks",
    [
        ["<syn", "thesis>Hi</synthesis>"],
        ["<", "synthesis", ">", "Hi", "<", "/", "synthesis", ">"],
        ["< Synthesis >Hi</ SYNTHESIS\n>"],
    ],
)
def test_tags_split_across_chunks_are_never_printed(chunks):
    reader = ReplyReader()
    printed = reader.feed(HEAD) + "".join(reader.feed(c) for c in chunks) + reader.finish()
    assert printed == "Hi"


def test_reasoning_is_dropped_before_and_inside_the_synthesis():
    raw = "<think>maybe 0.2?</think>" + HEAD + "<synthesis>One <think>hmm</think>two</synthesis>"
    _, pieces = read(raw, list(range(len(raw))))
    assert "".join(pieces) == "One two"


@pytest.mark.parametrize(
    "raw",
    [
        "Just an answer, no tags at all.",
        "<synthesis>Answer first.</synthesis><confidence>0.9</confidence><needs_iteration>false</needs_iteration>",
        "<confidence>0.9</confidence><synthesis>No needs_iteration before it.</synthesis>",
        "<think>unclosed reasoning " + HEAD + "<synthesis>Inside?</synthesis>",
        HEAD + "<analysis>A quoted <synthesis>inside an open section</synthesis>?</analysis>",
    ],
)
def test_replies_that_are_not_verdict_first_never_stream(raw):
    reader, pieces = read(raw, list(range(0, len(raw), 2)))
    assert "".join(pieces) == ""
    assert reader.head is None
    assert reader.verdict() == parse_verdict(raw)


def test_an_unclosed_synthesis_ends_at_the_next_section():
    raw = HEAD + "<synthesis>The answer.<confidence>0.1</confidence>"
    reader, pieces = read(raw)
    assert "".join(pieces) == "The answer."
    assert reader.verdict().confidence == 0.9


def test_an_empty_synthesis_falls_back_to_the_whole_reply():
    raw = HEAD + "<synthesis> </synthesis><synthesis>Later.</synthesis>"
    reader, pieces = read(raw)
    assert "".join(pieces) == ""
    assert reader.verdict().synthesis == "Later."


def test_carriage_returns_split_from_their_newline():
    reader = ReplyReader()
    printed = reader.feed(HEAD + "<synthesis>a\r") + reader.feed("\nb\r") + reader.feed("c") + reader.finish()
    assert printed == "a\nb\nc"


def test_parse_head_needs_a_confidence_and_needs_iteration():
    assert parse_head("<confidence>0.5</confidence>") is None
    assert parse_head("<confidence>high</confidence><needs_iteration>no</needs_iteration>") is None
    head = parse_head("<confidence>50%</confidence><needs_iteration>yes</needs_iteration>")
    assert head is not None and head.confidence == 0.5 and head.needs_iteration


# ------------------------------------------------- one rule for a streamed and a whole reply

DRAFT_THEN_FINAL = (
    "<analysis>a</analysis><confidence>0.9</confidence><needs_iteration>no</needs_iteration>"
    "<synthesis>Draft A</synthesis>\n<confidence>0.4</confidence><synthesis>Final B</synthesis>"
)


def test_a_verdict_first_reply_with_a_draft_and_a_final_reads_the_same_streamed_and_whole():
    """The issue's reply: the streaming reader committed to "Draft A" at 0.9 while the
    whole-reply parser took "Final B" at 0.4. One rule: the synthesis right after the
    first complete verdict is the answer; what follows is ignored."""
    streamed, pieces = read(DRAFT_THEN_FINAL, list(range(0, len(DRAFT_THEN_FINAL), 3)))
    whole = parse_verdict(DRAFT_THEN_FINAL)
    assert "".join(pieces) == "Draft A"
    assert (whole.synthesis, whole.confidence) == ("Draft A", 0.9)
    assert (streamed.verdict().synthesis, streamed.verdict().confidence) == ("Draft A", 0.9)


def test_the_json_reader_of_a_tagged_reply_follows_the_same_rule():
    from llm_consortium.structured.json_answers import read_verdict

    raw = DRAFT_THEN_FINAL.replace("Draft A", '{"n": 1}').replace("Final B", '{"n": 2}')
    verdict = read_verdict(raw, {"type": "object"})
    assert (verdict.synthesis, verdict.confidence) == ('{"n": 1}', 0.9)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=REPLIES, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=40))
def test_streamed_and_whole_readings_give_the_same_answer_and_confidence(raw, cuts):
    streamed, _ = read(raw, cuts)
    whole = parse_verdict(raw)
    got = streamed.verdict()
    assert (got.synthesis, got.confidence, got.needs_iteration, got.tagged) == (
        whole.synthesis, whole.confidence, whole.needs_iteration, whole.tagged
    )


def test_json_verdict_fields_are_read_like_tags():
    """needs_iteration "1" and a "- none" area mean the same in a JSON verdict as in tags."""
    from llm_consortium.structured.json_answers import read_verdict

    tagged = parse_verdict(
        "<confidence>80%</confidence><needs_iteration>1</needs_iteration>"
        "<refinement_areas>- none\n- units</refinement_areas><synthesis>{}</synthesis>"
    )
    as_json = read_verdict(
        '{"confidence": "80%", "needs_iteration": "1", "refinement_areas": ["- none", "- units"], '
        '"synthesis": {}, "analysis": "", "dissent": ""}',
        {"type": "object"},
    )
    assert (as_json.confidence, as_json.needs_iteration, as_json.refinement_areas) == (
        tagged.confidence, tagged.needs_iteration, tagged.refinement_areas
    ) == (0.8, True, ["units"])

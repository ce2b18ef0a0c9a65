"""Arbitrary member and arbiter replies through the engine, as free text and under a
schema: a run ends with an answer taken from a reply, or with ConsortiumFailed;
never another exception, never a hang, never an answer no reply holds."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.structured.schema import canonical
from llm_consortium.types import Call, Participant

from helpers import Scripted
from helpers import settings as engine_settings

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
RUN_CAP = 10.0
"""Seconds a run may take before it counts as a hang (a scripted run takes milliseconds)."""

TAGS = ["<synthesis>", "</synthesis>", "<confidence>", "</confidence>", "<needs_iteration>", "</needs_iteration>",
        "<think>", "</think>", "<thinking>", "<analysis>", "</analysis>", "<Synthesis/>", "< / synthesis >", "<syn",
        "thesis>", "\u2039"]
JSONISH = ["{", "}", "[", "]", ",", '"', ":", "```json\n", "```", "\n", "0.9", "true", "1e999", "9" * 30, "\\"]
FRAGMENTS = st.one_of(st.sampled_from(TAGS), st.sampled_from(JSONISH), st.text(max_size=10))
PROSE = st.one_of(st.text(max_size=30), st.lists(FRAGMENTS, max_size=8).map("".join))
# After a malformed document, prose that cannot close it (else the prose would make
# it whole, and a whole document is a fair answer).
NO_CLOSERS = PROSE.map(lambda text: text.replace("}", "").replace("]", ""))
TEXT_REPLIES = st.one_of(st.text(max_size=200), st.lists(FRAGMENTS, max_size=25).map("".join))


# ------------------------------------------------------------------ documents


names = st.text(max_size=8)
ages = st.integers(min_value=-(10**30), max_value=10**30)
people = st.fixed_dictionaries({"name": names, "age": ages})


@st.composite
def documents(draw: Any) -> tuple[str, Any]:
    """(JSON text, the value it holds as a whole or None): a person, maybe with a
    nested person, and maybe malformed (trailing comma, cut off) or off-schema."""
    value: Any = draw(people)
    if draw(st.booleans()):
        value = {**value, "spouse": draw(people)}
    if draw(st.integers(0, 5)) == 0:
        value = {"who": value}  # valid JSON, wrong shape
    text = json.dumps(value, indent=draw(st.sampled_from([None, 2])))
    slip = draw(st.sampled_from(["none", "none", "trailing comma", "cut off", "cut anywhere"]))
    if slip == "trailing comma":
        return text[:-1].rstrip() + ",}", None
    if slip == "cut off":
        return text[:-1], None
    if slip == "cut anywhere":
        return text[: draw(st.integers(0, len(text) - 1))], None
    return text, value


@st.composite
def member_replies(draw: Any, outer: list[Any]) -> str:
    text, value = draw(documents())
    if value is not None:
        outer.append(value)
    wrap = draw(st.sampled_from(["bare", "fence", "prose"]))
    if wrap == "fence":
        text = f"```json\n{text}\n```"
    return draw(PROSE) + text + draw(PROSE if value is not None else NO_CLOSERS) if wrap == "prose" else text


@st.composite
def arbiter_replies(draw: Any, outer: list[Any]) -> str:
    text, value = draw(documents())
    form = draw(st.sampled_from(["json verdict", "tagged", "bare", "text"]))
    if form == "text":
        return draw(TEXT_REPLIES)
    if value is not None:
        outer.append(value)
    confidence = draw(st.sampled_from(["0.9", "0.3", '"85%"', "true", "1e999"]))
    if form == "json verdict":
        return f'{{"analysis": "", "confidence": {confidence}, "needs_iteration": false, "synthesis": {text}}}'
    if form == "tagged":
        after = draw(PROSE if value is not None else NO_CLOSERS)
        return f"{draw(PROSE)}<confidence>{confidence}</confidence><synthesis>{text}</synthesis>{after}"
    return text


# ------------------------------------------------------------------ the runs


def scripted(name: str, replies: list[str], capable: bool) -> Participant:
    return replace(Scripted(name, *replies).participant(), supports_schema=capable)


def outcome_of(request: Call, members: list[Participant], arbiter: Participant | None, rounds: int) -> Any:
    """The run's Result, or None when it failed as runs may (ConsortiumFailed)."""

    async def bounded() -> Any:
        return await asyncio.wait_for(
            run(request, members, arbiter, engine_settings(max_iterations=rounds)), RUN_CAP
        )

    try:
        result = asyncio.run(bounded())
    except ConsortiumFailed:
        event("the run failed")
        return None
    event("the run answered")
    return result


def _visible(text: str) -> str:
    """Text as compared with a reply: no whitespace, a defused "<" read as "<"."""
    return "".join(text.split()).replace("\u2039", "<")


def is_subsequence(small: str, big: str) -> bool:
    rest = iter(big)
    return all(char in rest for char in small)


# FUZZ_EXAMPLES=1000 for a deeper run than the suite's.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=5000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    st.lists(st.lists(TEXT_REPLIES, min_size=1, max_size=2), min_size=1, max_size=3),
    st.one_of(st.none(), st.lists(TEXT_REPLIES, min_size=1, max_size=2)),
    st.integers(1, 2),
)
def test_any_text_reply_gives_an_answer_from_a_reply_or_consortium_failed(member_scripts, arbiter_script, rounds):
    members = [scripted(f"m{i}", script, False) for i, script in enumerate(member_scripts)]
    arbiter = scripted("judge", arbiter_script, False) if arbiter_script is not None else None
    result = outcome_of(Call("q"), members, arbiter, rounds)
    if result is None:
        return
    replies = [r for script in member_scripts for r in script] + (arbiter_script or [])
    answer = _visible(result.text)
    assert answer, "an empty answer"
    assert any(is_subsequence(answer, _visible(reply)) for reply in replies), result.text


@FUZZ
@given(st.data(), st.integers(1, 3), st.booleans(), st.integers(1, 2))
def test_any_reply_under_a_schema_gives_an_outer_value_of_a_reply_or_consortium_failed(data, size, judged, rounds):
    outer: list[Any] = []  # every whole, well-formed document placed in a reply
    members = [
        scripted(f"m{i}", [data.draw(member_replies(outer)) for _ in range(rounds)], data.draw(st.booleans()))
        for i in range(size)
    ]
    arbiter = None
    if judged:
        arbiter = scripted("judge", [data.draw(arbiter_replies(outer)) for _ in range(rounds)], data.draw(st.booleans()))
    result = outcome_of(Call("q", schema=PERSON), members, arbiter, rounds)
    if result is None:
        return
    answer = json.loads(result.text)
    placed = {canonical(value) for value in outer}
    if canonical(answer) in placed:
        return
    # A field-by-field vote merges answers: each field must then come from one of them.
    assert isinstance(answer, dict) and answer, result.text
    for key, value in answer.items():
        assert any(isinstance(v, dict) and key in v and canonical(v[key]) == canonical(value) for v in outer), result.text

"""The engine with a schema (formats.JsonFormat), driven by scripted participants."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.render.trace_phrases import fallback_text
from llm_consortium.structured.json_answers import verdict_schema
from llm_consortium.types import Call

from helpers import Scripted, settings, verdict

pytestmark = pytest.mark.asyncio

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PARIS = '{"city": "Paris"}'


def capable(scripted: Scripted):
    return replace(scripted.participant(), supports_schema=True)


def json_verdict(synthesis, confidence=0.9, needs_iteration=False):
    return json.dumps(
        {"analysis": "", "dissent": "", "confidence": confidence, "needs_iteration": needs_iteration,
         "refinement_areas": ["be exact"] if needs_iteration else [], "synthesis": synthesis}
    )


async def test_the_schema_goes_to_capable_models_and_into_the_prompt_of_the_others():
    able, unable = Scripted("able", PARIS), Scripted("unable", "```json\n" + PARIS + "\n```")
    judge = Scripted("judge", json_verdict({"city": "Paris"}))
    result = await run(
        Call("Capital of France?", schema=SCHEMA), [capable(able), unable.participant()], capable(judge), settings(skip_arbiter_on_agreement=False)
    )
    assert json.loads(result.text) == {"city": "Paris"}
    assert able.calls[0].schema == SCHEMA and able.calls[0].prompt == "Capital of France?"
    assert unable.calls[0].schema is None
    assert unable.calls[0].prompt.startswith("Capital of France?\n\n## Reply format") and '"city"' in unable.calls[0].prompt
    assert judge.calls[0].schema == verdict_schema(SCHEMA)
    assert '{"city": "Paris"}' in judge.calls[0].prompt  # the fenced answer, normalised


async def test_a_tag_only_arbiter_is_told_the_schema_and_gets_no_schema():
    member = Scripted("m", PARIS)
    judge = Scripted("judge", verdict(PARIS, 0.8))
    result = await run(Call("q", schema=SCHEMA), [capable(member)], judge.participant(), settings())
    assert result.text == PARIS and result.confidence == 0.8
    assert judge.calls[0].schema is None
    assert "## Answer format" in judge.calls[0].prompt and "<synthesis>" in judge.calls[0].prompt


async def test_rejected_answers_fail_their_member_and_when_all_fail_the_run_says_why():
    members = [Scripted("a", "Paris!").participant(), Scripted("b", '{"town": "Paris"}').participant()]
    with pytest.raises(ConsortiumFailed) as info:
        await run(Call("q", schema=SCHEMA), members, None, settings())
    message = str(info.value)
    assert "a: answer rejected: no JSON object or array found" in message
    assert "b: answer rejected: does not match the schema: the answer: missing required field 'city'" in message


async def test_refinement_rounds_keep_the_schema_and_the_best_round_wins():
    able, unable = Scripted("able", '{"city": "Lyon"}', PARIS), Scripted("unable", '{"city": "Lyon"}', PARIS)
    judge = Scripted("judge", json_verdict({"city": "Lyon"}, 0.4, True), json_verdict({"city": "Paris"}, 0.95))
    result = await run(
        Call("q", schema=SCHEMA), [capable(able), unable.participant()], capable(judge),
        settings(max_iterations=2, skip_arbiter_on_agreement=False),
    )
    assert result.text == PARIS and result.final_round == 2
    assert able.calls[1].schema == SCHEMA
    assert "be exact" in unable.calls[1].prompt and unable.calls[1].prompt.rstrip().endswith("```")
    assert unable.calls[1].schema is None


async def test_vote_rounds_tell_members_without_schemas_to_answer_in_json():
    a = Scripted("a", '{"city": "Paris"}')
    b = Scripted("b", '{"city": "Lyon"}', PARIS)
    result = await run(
        Call("q", schema=SCHEMA), [a.participant(), b.participant()], None,
        settings(max_iterations=2, confidence_threshold=1.0),
    )
    assert result.text == PARIS and result.confidence == 1.0
    assert "Final answer" in b.calls[1].prompt  # the peer prompt's own format...
    assert b.calls[1].prompt.index("Final answer") < b.calls[1].prompt.index("## Reply format")  # ...is overridden


async def test_an_arbiter_reply_without_valid_json_is_an_arbiter_failure_and_the_vote_answers():
    members = [Scripted(n, t).participant() for n, t in (("a", '{"city": "Lyon"}'), ("b", PARIS), ("c", PARIS))]
    judge = Scripted("judge", json_verdict({"town": "Paris"}))
    result = await run(Call("q", schema=SCHEMA), members, capable(judge), settings())
    assert result.text == PARIS
    round_ = result.rounds[0]
    assert round_["fallback"] == {"kept": "vote", "members": ["b", "c"], "answered": 3, "share": 2 / 3}
    assert round_["arbiter"]["error"].startswith("answer rejected: its synthesis does not match the schema")
    assert round_["arbiter"]["raw"] == json_verdict({"town": "Paris"})


async def test_an_unusable_schema_fails_before_any_call():
    member = Scripted("m", PARIS)
    with pytest.raises(ConsortiumFailed, match="the schema cannot be used: unknown type 'text'"):
        await run(Call("q", schema={"type": "text"}), [member.participant()], None, settings())
    assert member.calls == []


async def test_a_json_answer_is_not_streamed_but_given_whole_once_checked():
    member = Scripted("m", PARIS)
    judge = Scripted("judge", verdict(PARIS, 0.9))
    shown: list[str] = []

    async def answer(text: str) -> None:
        shown.append(text)

    result = await run(Call("q", schema=SCHEMA), [member.participant()], judge.participant(), settings(), answer=answer)
    assert shown == [result.text] == [PARIS]
    assert judge.calls[0].on_text is None  # the arbiter was not asked to stream


async def test_when_a_later_arbiter_fails_the_earlier_synthesis_is_kept_without_a_vote():
    members = [Scripted("a", '{"city": "Lyon"}').participant(), Scripted("b", PARIS).participant()]
    judge = Scripted("judge", json_verdict({"city": "Paris"}, 0.5, True), "not json at all")
    result = await run(Call("q", schema=SCHEMA), members, capable(judge), settings(max_iterations=2))
    assert result.text == PARIS and result.final_round == 1
    assert result.rounds[1]["fallback"] == {"kept": "round", "round": 1} and "vote" not in result.rounds[1]


async def test_a_failed_arbiter_over_answers_that_all_differ_falls_back_to_a_field_vote():
    schema = {"type": "object", "properties": {"x": {}, "y": {}}, "required": ["x", "y"]}
    answers = ('{"x": 1, "y": 1}', '{"x": 1, "y": 2}', '{"x": 2, "y": 2}')
    members = [Scripted(n, t).participant() for n, t in zip("abc", answers, strict=True)]
    result = await run(Call("q", schema=schema), members, Scripted("judge", "no idea").participant(), settings())
    assert json.loads(result.text) == {"x": 1, "y": 2}
    assert result.rounds[0]["fallback"]["members"] == []
    assert "field by field" in result.notes[-1] and "vote" in result.notes[-1]
    assert fallback_text(result.rounds[0]) == "The arbiter failed: the answer is the members' vote, taken field by field"


async def test_an_answer_the_checking_chokes_on_fails_its_member_not_the_run():
    schema = {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 2}}, "required": ["n"]}
    huge = '{"n": ' + "3" * 400 + "}"
    members = [Scripted("odd", huge).participant(), Scripted("even", '{"n": 4}').participant()]
    result = await run(Call("q", schema=schema), members, None, settings(max_iterations=1))
    assert json.loads(result.text) == {"n": 4}
    odd = result.rounds[0]["members"][0]
    assert odd["error"].startswith("answer rejected: does not match the schema: n: 3333")
    assert odd["error"].endswith("must be a multiple of 2") and odd["rejected"] == huge

"""`--schema` through llm's real CLI and OpenAI plugin, against loopback models that
do (`supports_schema: true`) and do not declare schema support."""

from __future__ import annotations

import asyncio
import json

import llm
import pytest
from llm.utils import make_schema_id, multi_schema, schema_dsl
from pydantic import BaseModel

from llm_consortium.structured.json_answers import verdict_schema

from helpers import llm_run, llm_subprocess, save, verdict
from loopback import last_user_text, reply

DOG = "name, age int"
DOG_SCHEMA = schema_dsl(DOG)
REX = {"name": "Rex", "age": 3}
CAPABLE = {"supports_schema": True}


def json_verdict(synthesis, confidence=0.9, needs_iteration=False) -> str:
    """A schema-capable arbiter's reply: the whole verdict as one JSON object."""
    return json.dumps(
        {
            "analysis": "they agree",
            "dissent": "",
            "confidence": confidence,
            "needs_iteration": needs_iteration,
            "refinement_areas": [],
            "synthesis": synthesis,
        }
    )


def printed_json(result, stderr: str = "") -> object:
    """The one JSON document a run printed (a CliRunner result or a finished real
    process), with exactly `stderr` beside it."""
    assert getattr(result, "exit_code", getattr(result, "returncode", None)) == 0, result.stderr
    assert result.stderr == stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    return json.loads(result.stdout)


def last_trace() -> dict:
    logged = json.loads(llm_run("logs", "--json", "-n", "1").stdout)
    return logged[0]["response_json"]


@pytest.fixture
def models(openai_models):
    """smart and sjudge declare schema support; plain and tjudge do not."""
    return openai_models(["smart", "plain", "smart2", "sjudge", "tjudge"], smart=CAPABLE, smart2=CAPABLE, sjudge=CAPABLE)


def test_schema_capable_arbiter_answers_one_validated_json_object(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge", skip_arbiter_on_agreement=False)
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply('Here is your dog:\n```json\n{"age": 3, "name": "Rex"}\n```'))
    loopback.script("sjudge", reply(json_verdict({"name": "Rex", "age": 3})))
    result = llm_run("-m", "panel", "--schema", DOG, "Invent a dog")
    assert printed_json(result) == REX
    [smart] = loopback.requests_for("smart")
    assert smart.json_schema == DOG_SCHEMA
    [plain] = loopback.requests_for("plain")
    assert plain.json_schema is None and "response_format" not in plain.body
    instructions = last_user_text(plain)
    assert instructions.startswith("Invent a dog") and '"age"' in instructions and "JSON" in instructions
    [judge] = loopback.requests_for("sjudge")
    assert judge.json_schema == verdict_schema(DOG_SCHEMA)
    arbiter_prompt = last_user_text(judge)
    assert "<synthesis>" not in arbiter_prompt  # asked for JSON, not tags
    assert '{"name": "Rex", "age": 3}' in arbiter_prompt  # the plain member's JSON, normalised
    trace = last_trace()
    assert trace["rounds"][0]["arbiter"]["confidence"] == 0.9


def test_tag_only_arbiter_puts_json_in_its_synthesis(models, loopback, user_path):
    save("panel", ["smart", "plain"], arbiter="tjudge", skip_arbiter_on_agreement=False)
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script("tjudge", reply(verdict('```json\n{"name": "Rex", "age": 3}\n```', 0.8)))
    done = llm_subprocess(user_path, "-m", "panel", "--schema", DOG, "Invent a dog")
    assert printed_json(done) == REX
    [judge] = loopback.requests_for("tjudge")
    assert judge.json_schema is None
    prompt = last_user_text(judge)
    assert "<synthesis>" in prompt and '"age"' in prompt


def test_vote_mode_votes_field_by_field_when_no_two_agree(models, loopback, tmp_path):
    save("voters", ["smart", "plain", "smart2"], arbiter=None, max_iterations=1)
    loopback.script("smart", reply('{"name": "Rex", "age": 3}'))
    loopback.script("plain", reply('{"name": "Rex", "age": 4}'))
    loopback.script("smart2", reply('{"name": "Max", "age": 3}'))
    assert printed_json(llm_run("-m", "voters", "--schema", DOG, "Invent a dog")) == REX
    trace = last_trace()
    vote = trace["rounds"][0]["vote"]
    assert vote["by_field"]["name"]["members"] == ["smart", "plain"]
    assert any("field by field" in note for note in trace["notes"])
    shown = llm_run("consortiums", "trace").stdout
    assert 'name = "Rex" (smart, plain)' in shown and "age = 3 (smart, smart2)" in shown
    assert llm_run("consortiums", "trace", "--html", str(tmp_path / "run.html")).exit_code == 0


def test_vote_mode_largest_group_wins_ignoring_key_order(models, loopback):
    save("voters", ["smart", "plain", "smart2"], arbiter=None, max_iterations=1)
    loopback.script("smart", reply('{"name": "Max", "age": 1}'))
    loopback.script("plain", reply('{"age": 3.0, "name": "Rex"}'))
    loopback.script("smart2", reply('{"name":"Rex","age":3}'))
    assert printed_json(llm_run("-m", "voters", "--schema", DOG, "Invent a dog")) == REX
    assert last_trace()["rounds"][0]["vote"]["groups"][0]["members"] == ["plain", "smart2"]


def test_a_member_with_invalid_json_counts_as_failed_and_the_run_still_answers(models, loopback, user_path):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply('{"name": "Rex", "age": "three"}'))
    loopback.script("sjudge", reply(json_verdict(REX)))
    done = llm_subprocess(user_path, "-m", "panel", "--schema", DOG, "Invent a dog")
    partial = 'Consortium panel: partial: plain failed in round 1 (answer rejected: does not match the schema: age: expected integer, got string "three")\n'
    assert printed_json(done, stderr=partial) == REX
    plain = last_trace()["rounds"][0]["members"][1]
    assert plain["model"] == "plain"
    assert "age: expected integer" in plain["error"]
    assert plain["rejected"] == '{"name": "Rex", "age": "three"}' and plain["usage"]["output"] == 4
    assert 'said: {"name": "Rex", "age": "three"}' in llm_run("consortiums", "trace").stdout
    llm_run("consortiums", "trace", "--html", str(user_path / "run.html"))
    assert "Its answer:" in (user_path / "run.html").read_text()
    assert "FAILED" in last_user_text(loopback.requests_for("sjudge")[0])


def test_an_invalid_synthesis_falls_back_to_the_members_vote(models, loopback, user_path):
    save("panel", ["smart", "plain", "smart2"], arbiter="tjudge")
    loopback.script("smart", reply('{"name": "Max", "age": 1}'))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script("smart2", reply(json.dumps(REX)))
    loopback.script("tjudge", reply(verdict("A dog called Rex, aged three", 0.9)))
    done = llm_subprocess(user_path, "-m", "panel", "--schema", DOG, "Invent a dog")
    [warning] = done.stderr.splitlines()
    assert "arbiter failed" in warning and "synthesis" in warning
    assert printed_json(done, stderr=done.stderr) == REX
    round_ = last_trace()["rounds"][0]
    assert round_["arbiter"]["error"] == "answer rejected: its synthesis: no JSON object or array found"
    assert round_["fallback"]["members"] == ["plain", "smart2"]


def test_schema_multi_prints_items(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    items = {"items": [REX, {"name": "Ada", "age": 5}]}
    loopback.script("smart", reply(json.dumps(items)))
    loopback.script("plain", reply(json.dumps(items)))
    loopback.script("sjudge", reply(json_verdict(items)))
    assert printed_json(llm_run("-m", "panel", "--no-stream", "--schema-multi", DOG, "Invent two dogs")) == items
    [smart] = loopback.requests_for("smart")
    assert smart.json_schema == multi_schema(DOG_SCHEMA)


def test_logs_find_consortium_rows_by_schema_and_a_saved_schema_id_works(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script("sjudge", reply(json_verdict(REX)))
    printed_json(llm_run("-m", "panel", "--schema", DOG, "Invent a dog"))
    assert llm_run("-m", "panel", "Say hi").exit_code == 0  # a row without a schema
    data = llm_run("logs", "--schema", DOG, "--data")
    assert [json.loads(line) for line in data.stdout.splitlines()] == [REX]
    # `llm schemas list` reads a table llm 0.36 no longer fills; the id is the schema's hash.
    schema_id = make_schema_id(DOG_SCHEMA)[0]
    assert json.loads(llm_run("schemas", "show", schema_id).stdout) == DOG_SCHEMA
    assert printed_json(llm_run("-m", "panel", "--schema", schema_id, "Another dog")) == REX


class Dog(BaseModel):
    name: str
    age: int


def test_python_api_takes_a_pydantic_class_or_a_dict(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script("sjudge", reply(json_verdict(REX)))
    model = llm.get_model("panel")
    assert model.supports_schema
    assert Dog.model_validate_json(model.prompt("Invent a dog", schema=Dog).text()) == Dog(**REX)
    assert json.loads(model.prompt("Invent a dog", schema=DOG_SCHEMA).text()) == REX

    async def via_async():
        response = llm.get_async_model("panel").prompt("Invent a dog", schema=Dog)
        return await response.text()

    assert json.loads(asyncio.run(via_async())) == REX


def test_a_schema_it_cannot_check_is_a_one_line_error(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    result = llm_run("-m", "panel", "--schema", '{"type": "strnig"}', "Invent a dog")
    assert result.exit_code != 0
    assert "unknown type 'strnig'" in result.output and "Traceback" not in result.output
    assert loopback.requests == []


def test_tools_refused_when_no_member_supports_them(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge")
    result = llm_run("-m", "panel", "-T", "llm_version", "hi")
    assert result.exit_code != 0
    assert "no member supports tools (smart, plain)" in result.output
    assert loopback.requests == []


def test_answers_match_the_schema_in_every_round_of_a_refinement(models, loopback):
    save("panel", ["smart", "plain"], arbiter="sjudge", max_iterations=2, confidence_threshold=0.8)
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply('{"name": "Rex", "age": 4}'), reply(json.dumps(REX)))
    loopback.script("sjudge", reply(json_verdict({"name": "Rex", "age": 4}, 0.5, True)), reply(json_verdict(REX, 0.95)))
    assert printed_json(llm_run("-m", "panel", "--schema", DOG, "Invent a dog")) == REX
    second = loopback.requests_for("plain")[1]
    assert "JSON" in last_user_text(second) and second.json_schema is None
    assert loopback.requests_for("smart")[1].json_schema == DOG_SCHEMA


def test_a_nested_consortium_member_takes_the_schema_itself(models, loopback):
    save("inner", ["smart", "smart2"], arbiter=None, max_iterations=1)
    save("outer", ["inner", "plain"], arbiter="sjudge")
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("smart2", reply(json.dumps(REX)))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script("sjudge", reply(json_verdict(REX)))
    assert printed_json(llm_run("-m", "outer", "--schema", DOG, "Invent a dog")) == REX
    # The inner consortium was given the schema (so its members got it as llm sends it),
    # not the instructions meant for models without schema support.
    assert [r.json_schema for r in loopback.requests_for("smart")] == [DOG_SCHEMA]
    assert last_user_text(loopback.requests_for("smart")[0]) == "Invent a dog"


# A reply whose outer object is malformed (a trailing comma, a cut-off end) but
# whose nested object alone would match the schema: the nested one is never the answer.
ADA_SLIPS = {
    "trailing comma": '{"name": "Ada", "age": 36, "spouse": {"name": "Bob", "age": 40},}',
    "cut off": '{"name": "Ada", "age": 36, "spouse": {"name": "Bob", "age": 40}',
    "fenced": 'Here:\n```json\n{"name": "Ada", "age": 36, "spouse": {"name": "Bob", "age": 40},}\n```',
}


@pytest.mark.parametrize("slip", ADA_SLIPS.values(), ids=ADA_SLIPS.keys())
def test_a_malformed_outer_object_is_rejected_never_read_as_its_inner_one(models, loopback, user_path, slip):
    save("solo", ["plain"], arbiter=None, max_iterations=1)
    loopback.script("plain", reply(slip))
    done = llm_subprocess(user_path, "-m", "solo", "--schema", DOG, "Invent a person")
    assert done.returncode != 0 and done.stdout == ""
    [error] = done.stderr.splitlines()
    assert error.startswith("Error: ") and "answer rejected: no JSON object or array found" in error
    assert "Bob" not in done.stderr


@pytest.mark.parametrize("slip", ADA_SLIPS.values(), ids=ADA_SLIPS.keys())
def test_the_trace_keeps_the_malformed_reply_whole(models, loopback, slip):
    save("panel", ["smart", "plain"], arbiter=None, max_iterations=1)
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply(slip))
    assert printed_json(llm_run("-m", "panel", "--schema", DOG, "Invent a dog")) == REX
    plain = last_trace()["rounds"][0]["members"][1]
    assert plain["rejected"] == slip and plain["error"].startswith("answer rejected")


ADA = '{"name": "Ada", "age": 36, "spouse": {"name": "Bob", "age": 40}'
ARBITER_SLIPS = {
    "json verdict, trailing comma": ("sjudge", '{"confidence": 1.0, "synthesis": ' + ADA + ',}, "analysis": ""}'),
    "json verdict, cut off": ("sjudge", '{"confidence": 1.0, "needs_iteration": false, "synthesis": ' + ADA),
    "tagged, trailing comma": ("tjudge", verdict(ADA + ",}", 1.0)),
}


@pytest.mark.parametrize("judge, slip", ARBITER_SLIPS.values(), ids=ARBITER_SLIPS.keys())
def test_a_malformed_synthesis_is_rejected_and_the_members_vote_answers(models, loopback, user_path, judge, slip):
    save("panel", ["smart", "plain"], arbiter=judge, max_iterations=1, skip_arbiter_on_agreement=False)
    loopback.script("smart", reply(json.dumps(REX)))
    loopback.script("plain", reply(json.dumps(REX)))
    loopback.script(judge, reply(slip))
    done = llm_subprocess(user_path, "-m", "panel", "--schema", DOG, "Invent a dog")
    [warning] = done.stderr.splitlines()
    assert "the arbiter failed (answer rejected:" in warning and "Bob" not in warning
    assert printed_json(done, stderr=done.stderr) == REX
    arbiter = last_trace()["rounds"][0]["arbiter"]
    assert arbiter["raw"] == slip and arbiter["error"].startswith("answer rejected")

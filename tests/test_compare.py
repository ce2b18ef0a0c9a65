"""`llm consortiums compare`: the consortium, each member alone and a same-budget
vote of one model, with their token costs — scripted at the engine level, then once
through llm's CLI and the loopback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.evaluation.side_by_side import compare_runs
from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.types import Call, Settings

from helpers import Scripted, verdict
from loopback import last_user_text, reply

SETTINGS = Settings(max_iterations=3, confidence_threshold=0.7, timeout=5, retries=0, skip_arbiter_on_agreement=False)


@pytest.mark.asyncio
async def test_columns_and_token_accounting_with_scripted_models():
    a = Scripted("a", "a says 4", tokens=(10, 5))
    b = Scripted("b", "b says 4", tokens=(20, 7))
    judge = Scripted("judge", verdict("unsure", 0.5), verdict("It is 4", 0.9), tokens=(100, 30))
    base = Scripted("base", "4", "4", "5", "4", "four", "4", tokens=(3, 1))
    members = [a.participant(), b.participant(1), b.participant(2)]
    columns = await compare_runs(
        Call("2+2?"), members, judge.participant(), SETTINGS, base.participant(), name="trio"
    )
    assert [(c.kind, c.name) for c in columns] == [
        ("consortium", "trio"), ("member", "a"), ("member", "b"), ("baseline", "base")
    ]
    consortium, alone_a, alone_b, baseline = columns
    # two rounds of three member calls, and two arbiter calls
    assert consortium.answer == "It is 4" and consortium.confidence == 0.9
    assert consortium.calls == 8
    assert consortium.input_tokens == 2 * 10 + 4 * 20 + 2 * 100
    assert consortium.output_tokens == 2 * 5 + 4 * 7 + 2 * 30
    # each member alone: one call, a member with a count runs once
    assert (alone_a.answer, alone_a.calls, alone_a.input_tokens, alone_a.output_tokens) == ("a says 4", 1, 10, 5)
    assert (alone_b.calls, alone_b.input_tokens) == (1, 20)
    assert alone_a.confidence is None
    # as many baseline samples as the consortium's member calls, voted on
    assert baseline.samples == 6 and len(base.calls) == 6
    assert (baseline.calls, baseline.input_tokens, baseline.output_tokens) == (6, 18, 6)
    # "four" is the same answer as "4" (auto matching reads number words)
    assert baseline.answer == "4" and baseline.confidence == pytest.approx(5 / 6)
    assert all(call.prompt == "2+2?" for call in base.calls)


@pytest.mark.asyncio
async def test_a_failed_consortium_is_reported_and_the_rest_still_runs():
    broken = Scripted("x", RuntimeError("down"))
    base = Scripted("base", "fine")
    columns = await compare_runs(
        Call("q"), [broken.participant(), broken.participant(2)], None,
        Settings(strategy="vote", timeout=5, retries=0), base.participant(),
    )
    consortium, alone, baseline = columns
    assert "down" in consortium.error and consortium.answer is None
    assert "down" in alone.error
    assert baseline.samples == 2 and baseline.answer == "fine"


# ------------------------------------------------------------ through the CLI


@pytest.fixture
def trio(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    store.save(
        ConsortiumConfig(
            name="trio", models=[{"model_id": "alpha"}, {"model_id": "beta"}], arbiter={"model_id": "judge"},
            skip_arbiter_on_agreement=False,
        )
    )

    def judge(body):  # the arbiter's prompt asks for tags; a plain prompt is a baseline sample
        return verdict("Four", 0.9) if "<synthesis>" in last_user_text(body) else "4"

    loopback.script("judge", reply(judge))
    return "trio"


def words(request) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in request.messages)


def test_cli_compare_json_accounts_for_every_request(trio, loopback):
    result = CliRunner().invoke(cli, ["consortiums", "compare", trio, "two plus two?", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    columns = {(c["kind"], c["name"]): c for c in data["columns"]}
    assert list(columns) == [("consortium", "trio"), ("member", "alpha"), ("member", "beta"), ("baseline", "judge")]
    assert columns[("consortium", "trio")]["answer"] == "Four"
    assert columns[("member", "alpha")]["answer"] == "alpha says: two plus two?"
    baseline = columns[("baseline", "judge")]
    assert (baseline["samples"], baseline["answer"], baseline["confidence"]) == (2, "4", 1.0)
    # alpha and beta: once in the consortium and once alone; judge: arbiter + 2 samples
    assert [len(loopback.requests_for(m)) for m in ("alpha", "beta", "judge")] == [2, 2, 3]
    assert sum(c["calls"] for c in data["columns"]) == len(loopback.requests) == 7
    # the loopback counts a prompt's words as its input tokens
    assert sum(c["input_tokens"] for c in data["columns"]) == sum(words(r) for r in loopback.requests)
    assert columns[("member", "beta")]["input_tokens"] == 3
    assert baseline["output_tokens"] == 2


def test_cli_compare_text_output(trio, loopback):
    result = CliRunner().invoke(cli, ["consortiums", "compare", trio, "q", "--baseline", "beta"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "== Consortium trio (confidence 0.90)\nFour" in out
    assert "== Member alone: alpha\nalpha says: q" in out
    assert "== Baseline: beta x2, self-consistency vote (winning share 1.00)\nbeta says: q" in out
    table = out.strip().splitlines()[-5:]
    assert table[0].split() == ["calls", "input", "output", "total"]
    assert table[4].split()[:3] == ["baseline", "beta", "2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "q"], "Error: No consortium named 'nope'"),
        (["trio", "q", "--baseline", "missing-model"], "Error: unknown baseline model 'missing-model'"),
    ],
)
def test_cli_compare_bad_input_is_one_line(trio, loopback, args, message):
    result = CliRunner().invoke(cli, ["consortiums", "compare", *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert loopback.requests == []

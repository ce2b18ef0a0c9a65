"""eval and matching: the same-budget baseline votes with the consortium's matching
(so the comparison stays fair), and each system's unanimous share is reported."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.evaluation.figures import unanimity
from llm_consortium.evaluation.trace_results import unanimous

from helpers import save
from loopback import reply


def test_unanimous_reads_the_last_vote_of_a_trace():
    assert unanimous({"rounds": [{"vote": {"share": 0.5}}, {"vote": {"share": 1.0}}]}) is True
    assert unanimous({"rounds": [{"vote": {"share": 1.0}}, {"vote": {"share": 0.4}}]}) is False
    assert unanimous({"rounds": [{"arbiter": {}}]}) is None
    assert unanimity([{"unanimous": True}, {"unanimous": False}, {"unanimous": None}, {}]) == 0.5
    assert unanimity([{"answer": "x"}]) is None


@pytest.mark.parametrize("matching, baseline_unanimous", [("auto", 1.0), ("exact", 0.0)])
def test_the_baseline_votes_with_the_consortiums_matching(loopback, openai_models, tmp_path, matching,
                                                          baseline_unanimous):
    openai_models(["alpha", "beta", "sampler"])
    save("duo", ["alpha", "beta"], arbiter=None, max_iterations=1, matching=matching)
    loopback.script("alpha", reply("4"))
    loopback.script("beta", reply("4"))
    wordings = itertools.cycle(["The answer is 4.", "2 + 2 = 4"])
    loopback.script("sampler", reply(lambda body: next(wordings)))
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"prompt": "What is 2+2?", "expected": "4"}) + "\n")
    result = CliRunner().invoke(cli, ["consortiums", "eval", "duo", str(path), "--json", "--baseline", "sampler",
                                      "--no-members"])
    assert result.exit_code == 0, result.output
    systems = {s["kind"]: s for s in json.loads(result.stdout)["systems"]}
    assert systems["consortium"]["unanimous"] == 1.0
    assert systems["baseline"]["unanimous"] == baseline_unanimous

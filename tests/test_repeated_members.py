"""A model named twice (`-m a -m a`, or two entries in the file) is numbered `a`,
`a#2`, as `-m a:2` is: in errors, in the trace, in the vote."""

from __future__ import annotations

from llm_consortium.saved.config import ConsortiumConfig

from helpers import llm_run, ok
from loopback import NO_RETRY, error, reply


def test_instances_are_numbered_per_model_across_entries():
    config = ConsortiumConfig(
        name="c", models=[{"model_id": "a"}, {"model_id": "b", "count": 2}, {"model_id": "a", "count": 2}]
    )
    assert [(member.model_id, n) for member, n in config.instances()] == [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3)]


def test_a_model_given_twice_is_named_twice_in_the_error(loopback, openai_models):
    openai_models(["dead"])
    loopback.script("dead", error(400, "dead is down", NO_RETRY))
    ok("create", "dd", "-m", "dead", "-m", "dead")
    result = llm_run("-m", "dd", "hi")
    assert result.exit_code == 1 and result.stdout == ""
    assert "dead: Error code: 400 - dead is down; dead#2: Error code: 400 - dead is down" in result.stderr


def test_a_model_given_twice_is_named_twice_in_the_trace(loopback, openai_models):
    openai_models(["alpha", "beta"])
    loopback.script("alpha", reply("Paris."))
    loopback.script("beta", reply("London."))
    ok("create", "v", "-m", "alpha", "-m", "beta", "-m", "alpha", "-i", "1")
    result = llm_run("-m", "v", "capital?")
    assert result.exit_code == 0 and result.stdout == "Paris.\n"
    assert "Vote 2 of 3 answers (same text): alpha, alpha#2" in llm_run("consortiums", "trace").stdout

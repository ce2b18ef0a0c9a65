"""A model named twice (`-m a -m a`, or two entries in the file) is numbered `a`,
`a#2`, as `-m a:2` is: in errors, in the trace, in the vote."""

from __future__ import annotations

import threading

import llm

from llm_consortium.saved.config import ConsortiumConfig

from helpers import llm_run, ok, save, verdict
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


COPIES = 16


def test_copies_of_one_model_are_never_split_into_waves_once_the_model_has_answered(loopback, openai_models):
    """`-m m:16` through the sync API. The first call ever meets the rate-limit slow
    start (a fresh limits file); from the second call on, all sixteen requests are
    in flight at the provider at once, never eight and then eight. The members'
    replies are held until all sixteen have arrived (the wait is a hang guard)."""
    openai_models(["m", "judge"])
    loopback.script("m", reply("Paris."))
    loopback.script("judge", reply(verdict("Paris.")))
    save("copies", [{"model_id": "m", "count": COPIES}], skip_arbiter_on_agreement=False, max_iterations=1)
    model = llm.get_model("copies")
    assert model.prompt("capital?").text() == "Paris."  # the first call ever, whatever its waves

    loopback.limit_in_flight(None)  # a fresh record of requests in flight
    loopback.script("m", reply("Paris.", delay=60))  # held until released below
    answered: list[str] = []
    warm = threading.Thread(target=lambda: answered.append(model.prompt("capital?").text()))
    warm.start()
    try:
        all_at_once = loopback.wait_for_requests(2 * COPIES, model="m", timeout=30)
        sent = len(loopback.requests_for("m")) - COPIES
    finally:
        loopback.script("m", reply("Paris."))  # whatever was held back answers at once
        loopback.release_hangs()
        warm.join(60)
    assert all_at_once, f"only {sent} of {COPIES} copies were sent at once"
    assert loopback.peak_in_flight == COPIES
    assert answered == ["Paris."]

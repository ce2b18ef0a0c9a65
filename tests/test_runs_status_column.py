"""`llm consortiums runs` says what each answer rests on: a STATUS column (and a
`status` in --json), so a run whose arbiter failed and a vote decided is visible in
the list as `fallback`, not only as a low confidence."""

from __future__ import annotations

import json

from helpers import llm_run, save, verdict
from loopback import NO_RETRY, error, reply


def _status_cells(table: str) -> dict[str, str]:
    """{run id: its STATUS cell}, read at the header's column."""
    header, *rows = table.splitlines()
    start = header.index("STATUS")
    return {row.split()[0]: row[start:].split()[0] for row in rows}


def test_a_fallback_and_a_partial_run_are_named_in_the_list(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"])
    save("trio", [{"model_id": "alpha", "count": 2}, {"model_id": "beta"}], retries=0,
         skip_arbiter_on_agreement=False)
    loopback.script("alpha", reply("Paris"))
    loopback.script("beta", reply("Lyon"))
    loopback.script("judge", reply(verdict("Paris", 0.9)))
    assert llm_run("-m", "trio", "Capital of France?").exit_code == 0
    loopback.script("judge", error(500, "arbiter down", NO_RETRY))
    assert llm_run("-m", "trio", "Capital of France?").exit_code == 0
    loopback.script("judge", reply(verdict("Paris", 0.9)))
    loopback.script("beta", error(500, "beta down", NO_RETRY))
    assert llm_run("-m", "trio", "Capital of France?").exit_code == 0

    listed = json.loads(llm_run("consortiums", "runs", "--json").stdout)
    assert [run["status"] for run in listed] == ["partial", "fallback", "complete"]
    table = llm_run("consortiums", "runs").stdout
    assert _status_cells(table) == {run["id"]: run["status"] for run in listed}


def test_a_run_logged_before_runs_stored_their_status_is_judged_by_the_same_rule():
    from llm_consortium.history.logged_runs import Run

    rounds = [{"round": 1, "members": [{"model": "a", "text": "x"}], "arbiter": {"error": "HTTP 500"},
               "fallback": {"kept": "vote"}}]
    old = Run(id="r", datetime_utc="", duration_ms=None, input_tokens=None, output_tokens=None, prompt="", response="",
              stored={"consortium": "c", "rounds": rounds, "final_round": 1, "confidence": 0.5})
    assert old.row()["status"] == "fallback"

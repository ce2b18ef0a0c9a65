"""`llm consortiums runs` and `trace` (text, JSON, HTML) against a logs.db written by
real runs: llm's CLI and OpenAI plugin talking to the loopback server."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.history.logged_runs import Run
from llm_consortium.render import trace_html as trace_html
from llm_consortium.render import trace_text as trace_text

from helpers import SCRUBBED_ENV, llm_run, parse_page, save, verdict
from loopback import NO_RETRY, error, reply, write_models_file

LONG_ANSWER = "\n".join(
    f"Final line {n}: the refined answer, long enough to be condensed by llm." for n in range(1, 7)
)
HOSTILE = '<script src="https://evil.example/x.js">alert(1)</script> & <a href="http://x">link</a>'


@pytest.fixture(scope="module")
def _logged_once(tmp_path_factory, _loopback_server) -> tuple[Path, dict[str, str]]:
    """Four logged turns, made once for the module (each test gets a copy): a plain
    run, a run with a failed member, a two-round run, and one ordinary model turn
    whose text mentions "consortium". Returns the user dir and the turns' ids."""
    user_dir = tmp_path_factory.mktemp("runs-user")
    loopback = _loopback_server
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLM_USER_PATH", str(user_dir))
        for name in SCRUBBED_ENV:
            env.delenv(name, raising=False)
        loopback.reset()
        write_models_file(user_dir, loopback.url, ["alpha", "beta", "judge"])
        save("duo", [{"model_id": "alpha"}, {"model_id": "beta"}], retries=0, skip_arbiter_on_agreement=False)
        save("trio", [{"model_id": "alpha", "count": 2}, {"model_id": "beta"}], retries=0, skip_arbiter_on_agreement=False)
        ids = {}

        def latest_id() -> str:
            return json.loads(llm_run("logs", "--json", "-n", "1").stdout)[0]["id"]

        loopback.script("judge", reply(verdict("four", 0.9)))
        assert llm_run("-m", "duo", "2+2?").exit_code == 0
        ids["plain"] = latest_id()

        loopback.script("beta", error(400, "beta is overloaded", NO_RETRY))
        loopback.script("alpha", reply(HOSTILE))
        loopback.script("judge", reply(verdict("survived", 0.8)))
        assert llm_run("-m", "duo", "q with failure").exit_code == 0
        ids["failed"] = latest_id()

        loopback.reset()
        loopback.script(
            "judge",
            reply(verdict("first draft", 0.3, needs_iteration=True, areas="be more precise")),
            reply(verdict(LONG_ANSWER, 0.95)),
        )
        result = llm_run("-m", "trio", "explain it")
        assert result.exit_code == 0 and result.stdout == LONG_ANSWER + "\n"
        ids["rounds"] = latest_id()

        assert llm_run("-m", "alpha", '"consortium": not one').exit_code == 0
        ids["ordinary"] = latest_id()
        loopback.reset()
    return user_dir, ids


@pytest.fixture
def logged(_logged_once, user_path) -> dict[str, str]:
    """This test's own copy of the module's logged runs; returns their ids."""
    source, ids = _logged_once
    shutil.copytree(source, user_path, dirs_exist_ok=True)
    return ids


def logged_trace(response_id: str) -> dict:
    rows = json.loads(llm_run("logs", "--json", "-n", "0").stdout)
    return next(row for row in rows if row["id"] == response_id)


def test_runs_lists_consortium_runs_newest_first(logged):
    result = llm_run("consortiums", "runs", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [r["id"] for r in runs] == [logged["rounds"], logged["failed"], logged["plain"]]
    rounds, failed, plain = runs
    assert rounds["consortium"] == "trio"
    assert (rounds["rounds"], rounds["final_round"], rounds["confidence"]) == (2, 2, 0.95)
    assert (rounds["members"], rounds["member_answers"], rounds["member_failures"]) == (3, 6, 0)
    assert (failed["member_answers"], failed["member_failures"]) == (1, 1)
    assert plain["confidence"] == 0.9
    row = logged_trace(logged["rounds"])
    assert (rounds["input_tokens"], rounds["output_tokens"]) == (row["input_tokens"], row["output_tokens"])
    assert rounds["duration_ms"] == row["duration_ms"]


def test_runs_table_limit_and_name(logged):
    table = llm_run("consortiums", "runs").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "TIME", "(UTC)"]
    assert [line.split()[0] for line in table[1:]] == [logged["rounds"], logged["failed"], logged["plain"]]
    failed_line = next(line for line in table if line.startswith(logged["failed"]))
    assert " duo " in failed_line and " 1/1 " in failed_line and " 0.80 " in failed_line
    limited = llm_run("consortiums", "runs", "-n", "1").stdout.splitlines()
    assert len(limited) == 2 and limited[1].startswith(logged["rounds"])
    named = json.loads(llm_run("consortiums", "runs", "--name", "duo", "--json").stdout)
    assert [r["id"] for r in named] == [logged["failed"], logged["plain"]]
    none = llm_run("consortiums", "runs", "--name", "nobody")
    assert none.exit_code == 0 and none.stdout == "" and "No consortium runs" in none.stderr


def test_trace_defaults_to_latest_run_round_by_round(logged):
    result = llm_run("consortiums", "trace")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"Run {logged['rounds']} · trio")
    assert "Prompt: explain it" in text
    round1, round2 = text.split("\nRound 1")[1].split("\nRound 2")
    assert "confidence 0.30" in round1 and "asked for another round" in round1
    assert "Refine:\n      - be more precise" in round1 and "first draft" in round1
    assert "answer changed" in round2 and "final answer from this round" in round2
    assert "confidence 0.95" in round2 and "Synthesis (the answer)" in round2
    assert "alpha says: explain it" in round1 and "alpha#2" in round1
    assert "Final line 3" in round2 and "Final line 6" not in round2 and "more lines" in round2
    full = llm_run("consortiums", "trace", logged["rounds"], "--full").stdout
    assert "Final line 6" in full and "more lines" not in full


def test_trace_shows_failures(logged):
    text = llm_run("consortiums", "trace", logged["failed"]).stdout
    assert "FAILED: " in text and "beta is overloaded" in text
    assert "survived" in text


def test_trace_json_round_trips_the_logged_trace(logged, user_path):
    for key in ("plain", "failed", "rounds"):
        result = llm_run("consortiums", "trace", logged[key], "--json")
        assert json.loads(result.stdout) == logged_trace(logged[key])["response_json"]
    # The stored column is condensed by llm; the command must have resolved it.
    with sqlite3.connect(user_path / "logs.db") as db:
        (stored,) = db.execute("select response_json from turns where id = ?", [logged["rounds"]]).fetchone()
    assert LONG_ANSWER not in stored.replace("\\n", "\n")
    resolved = json.loads(llm_run("consortiums", "trace", logged["rounds"], "--json").stdout)
    assert resolved["rounds"][1]["arbiter"]["synthesis"] == LONG_ANSWER


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "No response with id nope"),
        (["ORDINARY"], "is not a consortium run"),
    ],
)
def test_trace_bad_id_is_one_error_line(logged, args, message):
    args = [logged["ordinary"] if a == "ORDINARY" else a for a in args]
    result = CliRunner().invoke(cli, ["consortiums", "trace", *args])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_logs_database_is_an_error_and_creates_nothing(user_path):
    for command in (["runs"], ["trace"], ["trace", "--html", str(user_path / "x.html")]):
        result = CliRunner().invoke(cli, ["consortiums", *command])
        assert result.exit_code == 1 and result.stderr.startswith("Error: No logs database at ")
    assert not (user_path / "logs.db").exists() and not (user_path / "x.html").exists()


def test_html_page_is_self_contained_and_complete(logged, tmp_path):
    trace = logged_trace(logged["rounds"])["response_json"]
    page = tmp_path / "run.html"
    result = llm_run("consortiums", "trace", logged["rounds"], "--html", str(page))
    assert result.exit_code == 0 and result.stdout == "" and str(page) in result.stderr
    parsed = parse_page(page)
    names = [tag for tag, _ in parsed.tags]
    text = "".join(parsed.text)
    flat = " ".join(text.split())
    for round_ in trace["rounds"]:
        for member in round_["members"]:  # rendered as markdown: its words are there
            assert " ".join(member["text"].split()[:4]) in flat
        assert round_["arbiter"]["synthesis"] in text
    assert names.count("svg") == 1 and names.count("rect") == 2
    assert "0.30" in text and "0.95" in text


def test_html_escapes_model_text_and_highlights_failures(logged, tmp_path):
    page = tmp_path / "failed.html"
    assert llm_run("consortiums", "trace", logged["failed"], "--html", str(page)).exit_code == 0
    parsed = parse_page(page)
    assert HOSTILE in "".join(parsed.text)
    assert all(tag not in ("script", "a") for tag, _ in parsed.tags)
    failed_cards = [attrs for tag, attrs in parsed.tags if "failed" in (attrs.get("class") or "").split()]
    assert len(failed_cards) == 1
    assert "beta is overloaded" in "".join(parsed.text)


def test_unwritable_html_path_is_one_error_line(logged, tmp_path):
    result = CliRunner().invoke(cli, ["consortiums", "trace", "--html", str(tmp_path / "missing" / "x.html")])
    assert result.exit_code == 1 and result.stderr.startswith("Error: Cannot write ")


def test_vote_groups_render_when_present():
    trace = {
        "consortium": "voters",
        "rounds": [
            {
                "round": 1,
                "members": [{"model": "a", "instance": 1, "label": "A", "text": "yes"}],
                "vote": {
                    "groups": [
                        {"answer": "yes <b>", "members": ["A", "B"], "share": 2 / 3},
                        {"answer": "no", "members": ["C"], "share": 1 / 3},
                    ]
                },
            }
        ],
        "final_round": 1,
        "confidence": 0.67,
    }
    run = Run("01X", "2025-01-01T00:00:00", 10, 1, 1, "q", "yes", trace)
    assert "Vote 2 of 3 answers: A, B" in trace_text.render(run)
    page = trace_html.render(run)
    assert "yes &lt;b&gt;" in page and "Vote" in page

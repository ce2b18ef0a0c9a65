"""`llm consortiums eval` through llm's real CLI and its real OpenAI plugin, against
the loopback server."""

from __future__ import annotations

import json
import re
import signal

import pytest
import sqlite_utils
from click.testing import CliRunner
from llm.cli import cli

from llm_consortium.evaluation.result_store import FILE_NAME
from llm_consortium.history.logged_runs import open_logs, recent_runs

from helpers import LLM_BIN, default_sigint, llm_subprocess, parse_page, refused, save, spawn, verdict
from loopback import hang, last_user_text, reply

QUESTIONS = {"What is 2+2?": "4", "What is 3+3?": "6", "What is 5+5?": "10"}
ALPHA = {"What is 2+2?": "4", "What is 3+3?": "6", "What is 5+5?": "11"}  # wrong on the third
BETA = {"What is 2+2?": "4", "What is 3+3?": "7", "What is 5+5?": "12"}  # right on the first only


def answer_from(table):
    def answer(body):
        text = last_user_text(body)
        return next((value for question, value in table.items() if question in text), "no idea")

    return answer


def arbiter(body):
    text = last_user_text(body)
    if "<synthesis>" not in text:  # a plain prompt: a baseline sample
        return answer_from(BETA)(body)
    return verdict(answer_from(QUESTIONS)(body), 0.9)


@pytest.fixture
def trio(loopback, openai_models, tmp_path):
    openai_models(["alpha", "beta", "judge", "grader"])
    save("trio", ["alpha", "beta"], arbiter="judge", skip_arbiter_on_agreement=False)
    loopback.script("alpha", reply(answer_from(ALPHA)))
    loopback.script("beta", reply(answer_from(BETA)))
    loopback.script("judge", reply(arbiter))
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps({"prompt": q, "expected": a}) + "\n" for q, a in QUESTIONS.items()))
    return path


def invoke(*args):
    return CliRunner().invoke(cli, ["consortiums", "eval", *map(str, args)])


def test_eval_json_report_accounts_for_every_request(trio, loopback, user_path):
    result = invoke("trio", trio, "--json", "--price", "alpha", "1", "2", "--price", "beta", "1", "2",
                    "--price", "judge", "10", "20")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert (data["consortiums"], data["dataset"], data["items"]) == (["trio"], str(trio), 3)
    systems = {(s["kind"], s["name"]): s for s in data["systems"]}
    assert list(systems) == [("consortium", "trio"), ("member", "alpha"), ("member", "beta"), ("baseline", "judge")]
    assert [(s["correct"], s["total"]) for s in data["systems"]] == [(3, 3), (2, 3), (1, 3), (1, 3)]
    # one round per item: 2 members + arbiter; members alone once; baseline twice per item
    assert [len(loopback.requests_for(m)) for m in ("alpha", "beta", "judge")] == [6, 6, 9]
    assert sum(s["calls"] for s in data["systems"]) == len(loopback.requests) == 21
    # the loopback counts a prompt's words as its input tokens
    words = sum(len(str(m.get("content", "")).split()) for r in loopback.requests for m in r.messages)
    assert sum(s["input_tokens"] for s in data["systems"]) == words
    assert systems[("member", "alpha")]["input_tokens"] == 9  # three three-word questions
    cost = systems[("member", "alpha")]["input_tokens"] * 1 + systems[("member", "alpha")]["output_tokens"] * 2
    assert systems[("member", "alpha")]["cost"] == pytest.approx(cost / 1e6)
    assert systems[("baseline", "judge")]["calls"] == 6
    assert systems[("consortium", "trio")]["flips"] == {"right_to_wrong": 0, "wrong_to_right": 0}
    assert systems[("consortium", "trio")]["calibration"]["bins"][9]["count"] == 3
    assert data["verdict"]["results"][0] == {
        "a": "consortium:trio", "b": "member:alpha", "against": "best_member", "result": "not enough items to tell"
    }
    assert set(data["results"][0]) >= {"item", "kind", "name", "answer", "correct", "input_tokens", "output_tokens"}
    assert all(s["cost"] is not None for s in data["systems"])
    # nothing reaches llm's logs without --log
    logs = user_path / "logs.db"
    assert not logs.exists() or sqlite_utils.Database(logs)["turns"].count == 0


def test_resume_makes_no_request_twice(trio, loopback, user_path):
    first = invoke("trio", trio, "--json")
    assert first.exit_code == 0, first.output
    assert len(loopback.requests) == 21 and (user_path / FILE_NAME).is_file()
    again = invoke("trio", trio, "--json", "--resume")
    assert again.exit_code == 0, again.output
    assert len(loopback.requests) == 21  # not one more
    assert again.stderr == "Reused 12 stored results (--resume).\n"
    assert json.loads(again.stdout)["systems"] == json.loads(first.stdout)["systems"]
    # results are keyed by each item's content: a new item is the only one that runs
    trio.write_text(trio.read_text() + json.dumps({"prompt": "What is 1+1?", "expected": "2"}) + "\n")
    grown = invoke("trio", trio, "--json", "--resume")
    assert grown.exit_code == 0, grown.output
    assert grown.stderr == "Reused 12 stored results (--resume).\n"
    asked = [last_user_text(r) for r in loopback.requests[21:]]
    assert all("What is 1+1?" in text for text in asked)
    assert len(asked) == 7  # 2 members and the arbiter, 2 members alone, 2 baseline samples
    # without --resume everything runs again
    fresh = invoke("trio", trio, "--json")
    assert fresh.exit_code == 0 and fresh.stderr == ""
    assert len(loopback.requests) == 21 + 7 + 28


def test_a_malformed_line_is_one_error_before_any_call(trio, loopback):
    trio.write_text(trio.read_text() + '{"prompt": "oops", "expected": }\n')
    result = invoke("trio", trio)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {trio} line 4: not valid JSON (Expecting value)\n"
    assert loopback.requests == []


def test_terminal_table_and_html_report(trio, loopback, tmp_path):
    page = tmp_path / "report.html"
    result = invoke("trio", trio, "--html", page, "--no-baseline", "-n", "2")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote {page}\n"
    lines = result.stdout.splitlines()
    assert lines[0] == f"Eval of trio on {trio}: 2 items, scorer exact"
    assert [line.split()[:3] for line in lines[3:6]] == [["consortium", "trio", "2/2"], ["member", "alpha", "2/2"], ["member", "beta", "1/2"]]
    assert lines[-1].startswith("Verdict: trio against the best member alone (alpha): +0.0 points [95% CI ")
    assert lines[-1] == lines[-1].rstrip()
    parse_page(page)


def test_log_records_each_consortium_turn(trio, loopback, user_path):
    result = invoke("trio", trio, "--log", "--no-members", "--no-baseline", "--json")
    assert result.exit_code == 0, result.output
    runs = recent_runs(open_logs(), limit=None)
    assert [run.consortium for run in runs] == ["trio"] * 3
    assert sorted(run.prompt for run in runs) == sorted(QUESTIONS)


def test_ctrl_c_keeps_finished_results_and_resume_runs_only_the_rest(trio, loopback, user_path):
    answer = reply(answer_from(ALPHA))
    loopback.script("alpha", answer, answer, hang(600))  # item 1's two alpha calls, then nothing
    running = spawn(user_path, LLM_BIN, "consortiums", "eval", "trio", str(trio), "--parallel", "1", preexec_fn=default_sigint)
    # items run one at a time: alpha's third request is item 2's, so item 1 is stored
    assert loopback.wait_for_requests(3, model="alpha", timeout=30)
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=30)
    assert running.returncode == 130 and out == ""
    assert re.fullmatch(
        r"Interrupted\. [45] finished results are stored; run the same command with --resume to continue\.\n", err
    )
    loopback.release_hangs()
    loopback.script("alpha", answer)
    before = len(loopback.requests)
    resumed = invoke("trio", trio, "--json", "--resume")
    assert resumed.exit_code == 0, resumed.output
    asked = [last_user_text(r) for r in loopback.requests[before:]]
    assert asked and not any("What is 2+2?" in text for text in asked)
    assert [(s["correct"], s["total"]) for s in json.loads(resumed.stdout)["systems"]] == [(3, 3), (2, 3), (1, 3), (1, 3)]


def test_real_llm_binary_prints_the_table_and_a_clean_stderr(trio, loopback, user_path):
    done = llm_subprocess(user_path, "consortiums", "eval", "trio", str(trio), "--no-members")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Verdict: trio against the same-budget baseline (judge): +66.7 points" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "{data}"], "Error: No consortium named 'nope'"),
        (["trio", "{data}", "--baseline", "missing-model"], "Error: Unknown baseline model 'missing-model'"),
        (["trio", "{data}", "--judge", "missing-model"], "Error: Unknown judge model 'missing-model'"),
        (["trio", "{data}", "--scorer", "judge"], "Error: --scorer judge needs --judge MODEL"),
        (["trio", "{data}", "--scorer", "choice"], "Error: {data} line 1: expected answer '4' is not an option letter (A-J) (--scorer choice)"),
        (["trio", "{data}", "--price", "nobody", "1", "1"], "Error: Unknown model 'nobody' in --price"),
        (["trio", "{data}", "--expected-field", "answer"], "Error: {data} line 1: no 'answer' field (or it is empty)"),
        (["trio", "{data}.missing"], "Error: Cannot read dataset '{data}.missing': No such file or directory"),
        (["trio", "{data}", "--html", "{data}/no/report.html"], "Error: Cannot write {data}/no/report.html: no directory"),
    ],
)
def test_bad_input_is_one_line_and_calls_nothing(trio, loopback, args, message):
    error = refused("eval", *(arg.format(data=trio) for arg in args))
    assert error.startswith(message.format(data=trio))
    assert loopback.requests == []


def grade(body):
    """A judge that compares the fenced answer with the fenced reference."""
    text = last_user_text(body)

    def block(title):
        return text.split(f"<<<{title} ")[1].split("\n", 1)[1].split(f"\n<<<END {title} ")[0].strip()

    return "VERDICT: CORRECT" if block("ANSWER") == block("REFERENCE") else "VERDICT: INCORRECT"


def test_judge_scores_each_distinct_answer_once_and_is_counted_apart(trio, loopback):
    loopback.script("grader", reply(grade))
    result = invoke("trio", trio, "--judge", "grader", "--json", "--price", "grader", "1", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scorer"] == "judge"
    assert [(s["correct"], s["total"]) for s in data["systems"]] == [(3, 3), (2, 3), (1, 3), (1, 3)]
    # distinct answers per question: {4}, {6, 7}, {10, 11, 12}
    judged = loopback.requests_for("grader")
    assert len(judged) == data["judge"]["calls"] == 6
    assert data["judge"]["input_tokens"] == sum(len(str(m.get("content", "")).split()) for r in judged for m in r.messages)
    assert data["judge"]["cost"] == pytest.approx((data["judge"]["input_tokens"] + data["judge"]["output_tokens"]) / 1e6)
    assert data["judge"]["errors"] == 0
    # the systems' own figures do not include the judge
    assert sum(s["calls"] for s in data["systems"]) == len(loopback.requests) - 6

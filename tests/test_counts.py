"""Counts as `runs`, `trace` and the trace page show them: thousands separated,
unknown shown as `?` (never as 0), and words in the singular for one. Through
llm's real CLI, the OpenAI plugin against the loopback server, and the local-engine
test plugin (which, like many local engines, reports no usage)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_local_models import local  # noqa: F401  (the fixture: the local-engine plugin registered)

from llm_consortium.text.words import number, plural

from helpers import llm_run, save, verdict
from loopback import reply


def trace_and_page(tmp_path: Path) -> tuple[str, str]:
    text = llm_run("consortiums", "trace").stdout
    page = tmp_path / "run.html"
    assert llm_run("consortiums", "trace", "--html", str(page)).exit_code == 0
    return text, page.read_text(encoding="utf-8")


def runs_line() -> str:
    return llm_run("consortiums", "runs").stdout.splitlines()[1]


def test_words_and_numbers():
    assert [plural(n, "round") for n in (0, 1, 2)] == ["0 rounds", "1 round", "2 rounds"]
    assert plural(1, "failed arbiter call") == "1 failed arbiter call"
    assert plural(1200, "match", "matches") == "1,200 matches"
    assert [number(v) for v in (600348, 41, 0, None, "12", True)] == ["600,348", "41", "0", "?", "?", "?"]


def test_large_counts_are_thousands_separated_and_one_round_is_singular(loopback, openai_models, tmp_path):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0)
    loopback.script("alpha", reply("A long read.", prompt_tokens=600_000, completion_tokens=1_234))
    loopback.script("judge", reply(verdict("A long read.", 0.9), prompt_tokens=348, completion_tokens=7))
    assert llm_run("-m", "c", "q").exit_code == 0
    text, page = trace_and_page(tmp_path)
    header = text.splitlines()[1]
    assert header.startswith("1 round · ") and "tokens 600,348 in / 1,241 out" in header, header
    assert "600,000 in / 1,234 out" in text  # the member's own line
    assert "600,348/1,241" in runs_line()
    assert "1 round · " in page and "1 member, 0 failed member calls · tokens 600,348 in / 1,241 out" in page
    for shown in (text, page, runs_line()):
        assert "(s)" not in shown


def test_usage_no_call_reported_is_unknown_not_zero(local, tmp_path):  # noqa: F811
    save("quiet", [{"model_id": "local", "count": 2}], arbiter=None, max_iterations=1)
    assert llm_run("-m", "quiet", "q").exit_code == 0
    text, page = trace_and_page(tmp_path)
    assert "tokens ? in / ? out" in text.splitlines()[1]
    assert text.count("? in / ? out") == 3  # the header and each member
    assert "tokens ? in / ? out" in page and "0 in" not in page
    assert re.search(r" \?/\? ", runs_line())
    row = json.loads(llm_run("consortiums", "runs", "--json").stdout)[0]
    assert (row["input_tokens"], row["output_tokens"]) == (None, None)


def test_usage_some_calls_reported_is_marked_partial(local, loopback, openai_models, tmp_path):  # noqa: F811
    openai_models(["alpha"])
    loopback.script("alpha", reply("B", prompt_tokens=1_500, completion_tokens=2))
    save("mixed", ["local", "alpha"], arbiter=None, max_iterations=1)
    assert llm_run("-m", "mixed", "q").exit_code == 0
    text, _ = trace_and_page(tmp_path)
    assert "tokens 1,500+? in / 2+? out" in text.splitlines()[1]
    assert "1,500+?/2+?" in runs_line()

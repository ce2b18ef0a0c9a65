"""Judging that fits a small context window, with the suite's local-engine-like test
plugin (tests/local_plugin.py: a window it does not state, llama-cpp's error words):
a window learned from the first overflow and remembered, the compact prompt, answers
cut to their share, judging in steps when many long answers cannot fit one prompt,
members' refinement prompts that fit, and the trace's record of each. Also the fence
markers a small model echoes, which never become an answer."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable

import local_plugin
import pytest

from llm_consortium.engine import run
from llm_consortium.types import Call

from helpers import Scripted, consortiums_run, llm_run, logged_traces, registered, save, settings, verdict

JUDGED = "The judged answer"
COMPACT = "Reply with these two tags and nothing else"  # the compact prompt's reply format
JUDGE_600 = {"model_id": "judge-600", "context_window": 600}  # a window set in the file
JUDGE_800 = {"model_id": "judge-800", "context_window": 800}


def long_answer(prompt: str) -> str:
    """A member's answer of 1,113 characters."""
    return "The answer, explained at length: " + "this is one more sentence about it. " * 30


def judge(prompt: str) -> str:
    return verdict(JUDGED, 0.9)


def doubtful_judge() -> Callable[[str], str]:
    """A judge that asks for another round with a long synthesis, then is sure."""
    calls = itertools.count()

    def answer(prompt: str) -> str:
        if next(calls) == 0:
            return verdict("A combined answer, at length. " * 50, 0.3, needs_iteration=True, areas="more")
        return verdict(JUDGED, 0.9)

    return answer


@pytest.fixture
def small(user_path):
    """Local engines (three characters a token): `small-judge` (500 tokens, states no
    window), `judge-600` and `judge-800`, `long-writer` (long answers; 600 tokens),
    `local`, and `doubtful-judge`."""
    models = {
        "small-judge": local_plugin.LocalModel("small-judge", context_tokens=500, answer=judge),
        "judge-600": local_plugin.LocalModel("judge-600", context_tokens=600, answer=judge),
        "judge-800": local_plugin.LocalModel("judge-800", context_tokens=800, answer=judge),
        "long-writer": local_plugin.LocalModel("long-writer", context_tokens=600, answer=long_answer, thread_safe=True),
        "local": local_plugin.LocalModel("local", thread_safe=True),
        "doubtful-judge": local_plugin.LocalModel("doubtful-judge", answer=doubtful_judge()),
    }
    with registered(local_plugin.LocalPlugin(list(models.values())), "small-window-plugin"):
        yield models


def tokens(text: str) -> int:
    """A prompt's size as the test plugin counts it."""
    return -(-len(text) // 3)


def test_an_arbiter_that_overflows_learns_its_window_and_is_asked_again_in_the_compact_form(small, user_path):
    save("tiny", [{"model_id": "local", "count": 3}], arbiter="small-judge", skip_arbiter_on_agreement=False)
    result = llm_run("-m", "tiny", "q")
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == (JUDGED + "\n", "")

    trace = logged_traces()[0]
    arbiter = trace["rounds"][0]["arbiter"]
    first, second = small["small-judge"].prompts
    assert tokens(first) > 500 and "## Reply format" in first  # the full prompt overflowed...
    assert tokens(second) <= 500 and COMPACT in second  # ...the compact one fits
    assert arbiter["overflow"]["error"].endswith("exceed context window of 500")
    assert arbiter["overflow"]["window"] == 500 and arbiter["overflow"]["prompt_chars"] == len(first)
    assert arbiter["fit"]["form"] == "compact" and arbiter["fit"]["window"] == 500
    assert arbiter["fit"]["source"] == "learned"
    assert arbiter["synthesis"] == JUDGED and "fallback" not in trace["rounds"][0]
    assert trace["usage"]["per_model"]["small-judge"]["calls"] == 2  # the retry is counted
    assert trace["status"] == "complete"
    assert any("small-judge overflowed: its context window is 500 tokens (from its overflow error)" in note
               for note in trace["notes"])
    assert any("asked again once, in the form that fits" in note for note in trace["notes"])

    # Remembered for the model: later runs fit from the start, and `create` knows it.
    remembered = json.loads((user_path / "consortium-windows.json").read_text())
    assert remembered["small-judge"]["tokens"] == 500
    assert llm_run("-m", "tiny", "q again").stdout == JUDGED + "\n"
    again = logged_traces()[0]["rounds"][0]["arbiter"]
    assert "overflow" not in again and again["fit"]["form"] == "compact"
    assert tokens(small["small-judge"].prompts[-1]) <= 500
    warned = consortiums_run("create", "other", "-m", "local:3", "-a", "small-judge")
    assert "context window (500 tokens)" in warned.stderr and "its window is learned from an overflow" in warned.stderr


def test_long_answers_are_cut_to_their_share_of_a_window_set_in_the_file(small):
    save("cut", [{"model_id": "long-writer", "count": 3}], arbiter=JUDGE_800, skip_arbiter_on_agreement=False)
    result = llm_run("-m", "cut", "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == JUDGED + "\n"

    (prompt,) = small["judge-800"].prompts  # one call: no overflow
    assert tokens(prompt) <= 800 and COMPACT in prompt
    arbiter = logged_traces()[0]["rounds"][0]["arbiter"]
    share, length = arbiter["fit"]["answer_chars"], len(long_answer(""))
    assert arbiter["fit"]["source"] == "file" and 160 <= share < length
    for label in "ABC":  # said in the prompt, after each answer, and in the trace
        assert f"Response {label} is cut to its first {share:,} of {length:,} characters." in prompt
        assert (f"round 1: Response {label} was cut to fit this prompt: only its first {share:,} of {length:,} "
                "characters are shown.") in logged_traces()[0]["notes"]
    notes = logged_traces()[0]["notes"]
    assert any(f"holds the compact judging prompt; each answer cut to at most {share:,} characters" in note
               for note in notes)


def test_many_long_answers_are_judged_in_steps_that_each_fit(small):
    save("steps", [{"model_id": "long-writer", "count": 6}], arbiter=JUDGE_600, skip_arbiter_on_agreement=False)
    result = llm_run("-m", "steps", "q")
    assert result.exit_code == 0, result.output
    assert result.stdout == JUDGED + "\n"

    trace = logged_traces()[0]
    arbiter = trace["rounds"][0]["arbiter"]
    fit, steps = arbiter["fit"], arbiter["steps"]
    assert fit["form"] == "stepwise" and 2 <= fit["group"] < 6
    assert "6 answers do not fit one prompt" in fit["why"]
    prompts = small["judge-600"].prompts
    assert len(prompts) == len(steps) and all(2 <= len(s["judged"]) <= fit["group"] for s in steps)
    assert sum(len(s["judged"]) - 1 for s in steps) == 6 - 1  # each step makes one of several: six become one
    assert all(tokens(p) <= 600 for p in prompts)  # no step overflowed
    labels = set(trace["rounds"][0]["labels"])
    first_level = [s for s in steps if all(name in labels for name in s["judged"])]
    assert sorted(name for s in first_level for name in s["judged"]) == sorted(labels)  # each answer judged once
    assert steps[-1]["judged"] and all(name.startswith("step ") or name in labels for name in steps[-1]["judged"])
    assert all(s["synthesis"] == JUDGED for s in steps[:-1]) and "synthesis" not in steps[-1]
    assert arbiter["synthesis"] == JUDGED and trace["usage"]["per_model"]["judge-600"]["calls"] == len(steps)
    assert any("judged in steps" in note and fit["why"] in note for note in trace["notes"])


def test_refinement_prompts_fit_each_members_window(small):
    members = [{"model_id": "long-writer", "count": 2, "context_window": 600}]
    save("refine", members, arbiter="doubtful-judge", skip_arbiter_on_agreement=False, min_iterations=1)
    result = llm_run("-m", "refine", "q")
    assert result.exit_code == 0, result.output

    trace = logged_traces()[0]
    assert len(trace["rounds"]) == 2
    assert all("text" in m for m in trace["rounds"][1]["members"])  # no member overflowed
    refinements = [p for p in small["long-writer"].prompts if p != "q"]
    assert len(refinements) == 2
    assert all(tokens(p) <= 600 and "Keep what was right, fix what was wrong." in p for p in refinements)
    assert all("It is cut to its first" in p for p in refinements)
    assert any("the refinement prompts of long-writer, long-writer#2 were made to fit their context windows "
               "(compact form" in note for note in trace["notes"])


def test_a_window_learned_by_one_item_of_an_eval_spares_every_later_call_an_overflow(small, tmp_path):
    save("tiny", [{"model_id": "local", "count": 3}], arbiter="small-judge", skip_arbiter_on_agreement=False)
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{n}", "expected": JUDGED}) + "\n" for n in range(6)))
    result = consortiums_run("eval", "tiny", str(data), "--no-members", "--no-baseline", "--parallel", "4", "--log")
    assert result.exit_code == 0, result.output
    arbiters = [t["rounds"][0]["arbiter"] for t in logged_traces(0) if t.get("rounds")]
    assert len(arbiters) == 6
    assert sum("overflow" in a for a in arbiters) == 1  # the first call only; the others waited and fitted
    assert all(a.get("synthesis") == JUDGED for a in arbiters)
    assert sum(1 for p in small["small-judge"].prompts if tokens(p) > 500) == 1


def test_fence_markers_a_member_echoes_are_removed_and_a_reply_of_nothing_else_fails():
    echo = "<<<OTHER ANSWER 1 b86050bc>>\n38 + 15 = 51\n<<<END YOUR ANSWER 1 b86050bc>>>"
    members = [
        Scripted("a", "51", echo).participant(),
        Scripted("b", "52", "<<<OTHER ANSWER 1 b86050bc>>>\n<<<END OTHER ANSWER 1 b86050bc>>>").participant(),
        Scripted("c", "51", "51").participant(),
    ]
    result = asyncio.run(run(Call("What is 38 + 15?"), members, None, settings(strategy="vote", max_iterations=2)))
    second = {m["model"]: m for m in result.rounds[1]["members"]}
    assert second["a"]["text"] == "38 + 15 = 51"
    assert second["b"]["error"] == "the reply held only fence markers echoed from its prompt"
    assert "<<" not in result.text and result.text.endswith("51")
    assert "round 2: a echoed 2 fence markers of its prompt: removed" in result.notes
    assert "round 2: b's reply held only fence markers echoed from its prompt: a failed answer" in result.notes


def test_create_warns_about_an_arbiter_window_set_in_the_file(small):
    from llm_consortium.cli.create_checks import warnings

    config = save("filed", [{"model_id": "local", "count": 3}], arbiter=JUDGE_600)
    (line,) = warnings(config, {"judge-600": small["judge-600"]})
    assert "the arbiter 'judge-600''s context window (600 tokens)" in line and "its window is set in the file" in line
    assert "compact judging prompt" in line


def test_an_arbiter_reply_that_copies_the_reply_formats_placeholder_is_no_answer():
    copied = ("<confidence>0 to 1: how likely your answer is right</confidence>\n"
              "<synthesis>the complete answer to the request, on its own</synthesis>")
    members = [Scripted(name, answer).participant() for name, answer in (("a", "44"), ("b", "44"), ("c", "43"))]
    result = asyncio.run(run(Call("What is 33 + 11?"), members, Scripted("judge", copied).participant(), settings()))
    record = result.rounds[0]
    assert record["arbiter"]["error"] == "the arbiter's reply copied the reply format's placeholder instead of an answer"
    assert record["fallback"]["kept"] == "vote" and result.text == "44"


def test_the_remembered_windows_file_is_the_plugins_own_memory(user_path, tmp_path):
    from llm_consortium.saved import windows
    from llm_consortium.types import ContextWindow

    assert windows.recall("m").tokens is None  # nothing remembered yet
    windows.remember("m", ContextWindow(512, "learned", 1.25))
    assert windows.recall("m") == ContextWindow(512, "remembered", 1.25)
    windows.path().write_text("{not json")  # a broken file counts as none, and is written afresh
    assert windows.recall("m").tokens is None
    windows.remember("m", ContextWindow(1024, "learned"))
    assert windows.recall("m") == ContextWindow(1024, "remembered")
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}")
    windows.path().unlink()
    windows.path().symlink_to(outside)  # a link out of the user dir is never written through
    windows.remember("m", ContextWindow(2048, "learned"))
    assert outside.read_text() == "{}"

"""What `trace`, `runs` and the HTML page promise a reader (issue 12, items 3, 6-10,
13, 17), through llm's real CLI and OpenAI plugin against the loopback server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import llm_run, refused, save, verdict
from loopback import NO_RETRY, error, reply

# What a terminal would act on: ESC, BEL and every other C0 control but \t and \n, DEL, C1.
ACTIVE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = (
    "Sure.\x1b]0;pwned title\x07 \x1b]52;c;cm0gLXJmIH4=\x07 \x1bP1$qm\x1b\\ \x1b_Gf=100\x1b\\"
    " \x9b2J \x9d0;c1\x9c back\rover\x08 done"
)


def html_of(tmp_path: Path, *args: str) -> str:
    page = tmp_path / "run.html"
    result = llm_run("consortiums", "trace", *args, "--html", str(page))
    assert result.exit_code == 0, result.output
    return page.read_text(encoding="utf-8")


def test_model_text_cannot_act_on_the_terminal(loopback, openai_models):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0)
    loopback.script("alpha", reply(HOSTILE))
    loopback.script("judge", reply(verdict("fine", 0.9, areas=HOSTILE)))
    assert llm_run("-m", "c", "q").exit_code == 0
    for args in (["trace", "--full"], ["trace"], ["runs"], ["trace", "--json"], ["runs", "--json"]):
        result = llm_run("consortiums", *args)
        assert result.exit_code == 0, args
        assert not ACTIVE.search(result.stdout), (args, result.stdout)
    text = llm_run("consortiums", "trace", "--full").stdout
    assert "Sure." in text and "over done" in text and "pwned" not in text and "cm0g" not in text
    # JSON keeps the data: every control is escaped, none is lost.
    assert json.loads(llm_run("consortiums", "trace", "--json").stdout)["rounds"][0]["members"][0]["text"] == HOSTILE


def test_list_and_models_show_file_text_inert(user_path):
    folder = user_path / "consortiums"
    folder.mkdir()
    (folder / "odd.yaml").write_text('models:\n  - model_id: "x\\e]0;pwned\\a"\n', encoding="utf-8")
    for args in (["consortiums", "list"], ["models"]):
        result = llm_run(*args)
        assert result.exit_code == 0
        assert "odd" in result.stdout and not ACTIVE.search(result.stdout), args


@pytest.fixture
def voted(loopback, openai_models):
    """A vote between three members, two of whom agree."""
    openai_models(["alpha", "beta"])
    save("voters", [{"model_id": "alpha", "count": 2}, "beta"], arbiter=None, max_iterations=1, retries=0)
    loopback.script("alpha", reply("Paris is the capital."))
    loopback.script("beta", reply("London, surely."))
    result = llm_run("-m", "voters", "capital?")
    assert result.exit_code == 0 and result.stdout == "Paris is the capital.\n"


def test_vote_shares_and_confidence_read_the_same_everywhere(voted, tmp_path):
    text = llm_run("consortiums", "trace").stdout
    assert "Vote 2 of 3 answers = paris (short answer): alpha, alpha#2" in text
    assert "Vote 1 of 3 answers = london (short answer): beta" in text
    assert "Vote: 2 of 3 answers, 2 of 3 of the panel → confidence 0.67" in text
    assert "Round 1 · " in text and "· confidence 0.67 ·" in text
    assert "0.6666" not in text
    page = html_of(tmp_path)
    assert ">?</text>" not in page and ">0.67</text>" in page  # the chart reads the vote's share
    titles = re.findall(r"<h3>(.*?)</h3>", page)
    assert "alpha" in titles and "beta" in titles and not any(t.startswith("- ·") for t in titles)
    assert "2 of 3 answers" in page


def test_arbiter_failure_names_what_was_kept_and_counts_the_arbiter(loopback, openai_models, tmp_path, caplog):
    openai_models(["alpha", "beta", "judge"])
    save("c", [{"model_id": "alpha", "count": 2}, "beta"], retries=0)
    loopback.script("alpha", reply("Paris is the capital."))
    loopback.script("beta", reply("London, surely."))
    loopback.script("judge", error(400, "judge is down", NO_RETRY))
    result = llm_run("-m", "c", "capital?")
    assert result.exit_code == 0 and result.stdout == "Paris is the capital.\n"
    assert "the answer is the members' vote (2 of 3 agreed: alpha, alpha#2)" in caplog.text
    text = llm_run("consortiums", "trace").stdout
    assert "The arbiter failed: the answer is the members' vote, 2 of 3 answers: alpha, alpha#2" in text
    assert "best earlier answer" not in text
    page = html_of(tmp_path)
    assert "3 members, 0 failed member calls, 1 failed arbiter call ·" in page
    assert "the members&#x27; vote, 2 of 3 answers: alpha, alpha#2" in page


def test_a_run_below_its_threshold_is_flagged(loopback, openai_models, tmp_path):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0, confidence_threshold=0.9, max_iterations=1)
    areas = "The colour is not violet.\n- Correct the ocean claim."
    loopback.script("judge", reply(verdict("unsure", 0.4, needs_iteration=True, areas=areas)))
    assert llm_run("-m", "c", "q").exit_code == 0
    text = llm_run("consortiums", "trace").stdout
    assert "WARNING: below the threshold: 0.40 < 0.90" in text
    assert "    Refine:\n      - The colour is not violet.\n      - Correct the ocean claim.\n" in text
    table = llm_run("consortiums", "runs").stdout.splitlines()
    assert " 0.40 < 0.90 " in table[1]
    row = json.loads(llm_run("consortiums", "runs", "--json").stdout)[0]
    assert (row["below_threshold"], row["confidence_threshold"]) == (True, 0.9)
    page = html_of(tmp_path)
    assert 'class="threshold"' in page and ">threshold 0.9</text>" in page
    assert "below the threshold: 0.40 &lt; 0.90" in page
    assert "<li>The colour is not violet.</li><li>Correct the ocean claim.</li>" in page


def test_a_confident_run_is_not_flagged(loopback, openai_models, tmp_path):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0, confidence_threshold=0.5)
    loopback.script("judge", reply(verdict("sure", 0.8)))
    assert llm_run("-m", "c", "q").exit_code == 0
    assert "below the threshold" not in llm_run("consortiums", "trace").stdout
    assert " < " not in llm_run("consortiums", "runs").stdout
    assert "below the threshold" not in html_of(tmp_path)


def test_html_renders_markdown_safely_and_folds_long_answers(loopback, openai_models, tmp_path):
    openai_models(["alpha", "beta", "judge"])
    save("c", ["alpha", "beta"], retries=0)
    long = "# Plan\n\n" + "\n".join(f"- step {n}" for n in range(40))
    loopback.script("alpha", reply(long))
    loopback.script(
        "beta",
        reply('**bold** and `code` [click](javascript:alert(1)) <script>alert(2)</script> <img src=x onerror=alert(3)>'),
    )
    loopback.script("judge", reply(verdict("## Final\n\n1. first\n2. second", 0.9)))
    assert llm_run("-m", "c", "q").exit_code == 0
    page = html_of(tmp_path)
    assert "<strong>bold</strong>" in page and "<code>code</code>" in page
    assert "<h2>Final</h2>" in page and "<ol>" in page
    assert "<script" not in page and "<img" not in page and not re.search(r"<[^>]*\s(href|src)=", page)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<details><summary>" in page and "(42 lines" in page and "<li>step 39</li>" in page


def test_a_corrupt_logs_database_is_one_error_line(user_path):
    (user_path / "logs.db").write_bytes(b"this is not a database, just bytes " * 200)
    for command in ("runs", "trace"):
        line = refused(command)
        assert "cannot be read as a logs database" in line and "file is not a database" in line


def test_an_untagged_arbiter_warns_once_per_run(loopback, openai_models, caplog):
    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0, max_iterations=3)
    loopback.script("judge", reply("A plain reply with no tags."))
    assert llm_run("-m", "c", "q").exit_code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "no <synthesis> tag" in warnings[0]
    notes = json.loads(llm_run("consortiums", "trace", "--json").stdout)["notes"]
    assert sum("no <synthesis> tag" in note for note in notes) == 1  # no round after it (docs/confidence.md)


def test_an_arbiter_context_window_overflow_is_told_in_plain_words(loopback, openai_models, caplog):
    openai_models(["alpha", "beta", "judge"])
    save("c", ["alpha", "beta"], retries=0, skip_arbiter_on_agreement=False)
    loopback.script("alpha", reply("Paris"))
    loopback.script("beta", reply("Paris"))
    overflow = (
        "This model's maximum context length is 512 tokens. However, your messages resulted in 739 tokens."
    )
    loopback.script("judge", error(400, overflow, NO_RETRY))
    result = llm_run("-m", "c", "q")
    assert (result.exit_code, result.stdout) == (0, "Paris\n")
    assert "the arbiter's context window (512 tokens) is smaller than the judging prompt (739)" in caplog.text
    assert "the answer is the members' vote (2 of 2 agreed: alpha, beta)" in caplog.text

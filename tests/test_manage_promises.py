"""What the management commands promise, through llm's real CLI: aliases, racing creates, counts, JSON, the list layout,
per-call round options, `edit` in a real $EDITOR, block scalars, the summary cache."""

from __future__ import annotations

import json
import os
import pathlib
import re
import stat
import sys

import llm
import pytest
import yaml

from llm_consortium.saved import store
from llm_consortium.saved.store import CACHE_NAME

from helpers import LLM_BIN, llm_run, ok, refused, save, spawn

EDITOR = '''
import os, pathlib, sys
state = pathlib.Path(os.environ["EDIT_STATE"])
n = len(list(state.glob("seen-*")))
target = pathlib.Path(sys.argv[1])
(state / f"seen-{n}").write_text(target.read_text())
answer = state / f"answer-{n}"
if answer.exists():  # else: closed without saving
    target.write_text(answer.read_text())
meanwhile = state / f"meanwhile-{n}"
if meanwhile.exists():  # someone else saves the consortium's file while the editor is open
    pathlib.Path(os.environ["EDIT_MEANWHILE"]).write_text(meanwhile.read_text())
'''


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """A real $EDITOR that saves the given answers in turn; returns what it was shown."""
    state = tmp_path / "editor"
    state.mkdir()
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDIT_STATE", str(state))

    def answers(*texts: str | None) -> list[pathlib.Path]:
        for number, text in enumerate(texts):
            if text is not None:
                (state / f"answer-{number}").write_text(text)
        return [state / f"seen-{number}" for number in range(len(texts))]

    return answers


# --- 1. aliases ----------------------------------------------------------------


def test_an_alias_of_a_consortium_is_not_shadowed(user_path):
    ok("create", "panel", "-m", "gpt-4o-mini")
    assert llm_run("aliases", "set", "pnl", "panel").exit_code == 0
    assert "'pnl' is already a model id or alias (for panel)" in refused("create", "pnl", "-m", "gpt-4o-mini")
    assert "(aliases: pnl)" in llm_run("models").stdout
    assert not store.path_for("pnl").exists()


def test_a_loop_through_an_alias_is_refused_at_create(user_path):
    assert llm_run("aliases", "set", "selfy", "zz1").exit_code == 0  # zz1 does not exist yet
    assert "cannot include itself" in refused("create", "zz1", "-m", "selfy")


def test_edit_that_makes_a_loop_warns(user_path, editor):
    ok("create", "a", "-m", "gpt-4o-mini")
    ok("create", "b", "-m", "a")
    editor("models:\n- model_id: b\n")
    result = ok("edit", "a")
    assert "Warning: consortium cycle a -> b -> a" in result.stderr


# --- 2. racing creates -----------------------------------------------------------


def test_a_create_that_loses_a_race_does_not_replace_the_winner(user_path, monkeypatch):
    real = llm.get_model_aliases

    def another_create_lands_now():
        # Between create's "does it exist?" and its write, another process saves it.
        save("dup", ["the-winner"], arbiter=None)
        return real()

    monkeypatch.setattr(llm, "get_model_aliases", another_create_lands_now)
    assert "already exists" in refused("create", "dup", "-m", "the-loser")
    assert store.load("dup").models[0].model_id == "the-winner"
    assert sorted(os.listdir(store.folder())) == ["dup.yaml"]  # no temporary file left


def test_simultaneous_creates_of_one_name_in_real_processes_have_exactly_one_winner(user_path):
    contenders = [f"model-{n}" for n in range(6)]
    running = [spawn(user_path, LLM_BIN, "consortiums", "create", "dup", "-m", model) for model in contenders]
    finished = []
    for process in running:
        out, err = process.communicate(timeout=60)
        finished.append((process.returncode, out, err))
    winners = [n for n, (code, out, _) in enumerate(finished) if code == 0]
    assert len(winners) == 1, finished
    assert "Created consortium 'dup'" in finished[winners[0]][1]
    for n, (code, _, err) in enumerate(finished):
        if n != winners[0]:
            assert code == 1 and "already exists" in err and "Traceback" not in err, err
    assert store.load("dup").models[0].model_id == contenders[winners[0]]
    assert sorted(os.listdir(store.folder())) == ["dup.yaml"]


# --- 5. counts -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["m1:-1", "m1:0", "m1:1.5", "m1:", "m1:+2"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(user_path, spec):
    assert "whole number, at least 1" in refused("create", "c", "-m", spec)
    assert not store.path_for("c").exists()


def test_colon_ids_that_are_not_counts_stay_model_ids(user_path):
    ok("create", "c", "-m", "llama3.2:3b")
    assert store.load("c").models[0].model_id == "llama3.2:3b"


# --- 11, 12. JSON and the list layout ---------------------------------------------------


def test_show_and_list_json_give_the_strategy_in_effect(user_path):
    ok("create", "voters", "-m", "gpt-4o-mini:3")
    ok("create", "judged", "-m", "gpt-4o-mini", "-a", "gpt-4o")
    assert json.loads(ok("show", "voters", "--json").stdout)["strategy"] == "vote"
    assert {e["name"]: e["strategy"] for e in json.loads(ok("list", "--json").stdout)} == {
        "judged": "arbiter",
        "voters": "vote",
    }


def test_a_long_name_does_not_pad_every_row_of_list(user_path):
    long = "n" * 64
    ok("create", long, "-m", "gpt-4o-mini")
    ok("create", "short", "-m", "gpt-4o-mini")
    lines = ok("list").stdout.splitlines()
    short = next(line for line in lines if line.startswith("short"))
    assert short.index(" : ") <= 25
    assert any(line.startswith(long + " : ") for line in lines)


# --- 14. per-call round options -----------------------------------------------------------


@pytest.fixture
def hesitant(loopback, openai_models):
    """A consortium whose arbiter is never confident: it runs as many rounds as allowed."""
    from helpers import judge_saying

    openai_models(["alpha", "judge"])
    save("c", ["alpha"], retries=0, max_iterations=3, min_iterations=1, confidence_threshold=0.9)
    loopback.script("judge", judge_saying("unsure", 0.1))
    return loopback


def rounds_run(*options: str) -> int:
    result = llm_run("-m", "c", *options, "q")
    assert result.exit_code == 0, result.output
    return len(json.loads(llm_run("logs", "--json", "-n", "1").stdout)[0]["response_json"]["rounds"])


def test_an_option_you_pass_wins_over_the_saved_value(hesitant):
    assert rounds_run("-o", "min_iterations", "4", "-o", "max_iterations", "4") == 4  # saved max 3
    assert rounds_run("-o", "max_iterations", "2") == 2


def test_contradicting_options_are_one_clear_error(hesitant):
    result = llm_run("-m", "c", "-o", "min_iterations", "5", "-o", "max_iterations", "2", "q")
    assert result.exit_code == 1
    assert result.stderr == "Error: -o min_iterations (5) cannot be greater than -o max_iterations (2)\n"
    assert hesitant.requests_for("alpha") == []


# --- 15. edit -----------------------------------------------------------------------------


def test_edit_keeps_a_symlink(user_path, tmp_path, editor):
    ok("create", "linked", "-m", "gpt-4o-mini")
    real = tmp_path / "dotfiles" / "linked.yaml"
    real.parent.mkdir()
    store.path_for("linked").rename(real)
    store.path_for("linked").symlink_to(real)
    editor(real.read_text().replace("gpt-4o-mini", "gpt-4o"))
    error = refused("edit", "linked")  # the link leaves the folder: only when asked
    assert error.startswith(f"Error: {store.path_for('linked')} is a symlink to {real}, outside ")
    assert "--follow-symlinks" in error and "gpt-4o-mini" in real.read_text()
    ok("edit", "--follow-symlinks", "linked")
    assert store.path_for("linked").is_symlink()
    assert "gpt-4o\n" in real.read_text() and store.load("linked").models[0].model_id == "gpt-4o"


def test_a_change_saved_while_the_editor_was_open_is_not_overwritten(user_path, editor, monkeypatch):
    ok("create", "ed", "-m", "gpt-4o-mini")
    path = store.path_for("ed")
    before = path.read_text()
    theirs, mine = before.replace("max_iterations: 3", "max_iterations: 5"), before.replace("max_iterations: 3", "max_iterations: 4")
    shown = editor(mine)
    monkeypatch.setenv("EDIT_MEANWHILE", str(path))
    (shown[0].parent / "meanwhile-0").write_text(theirs)
    error = refused("edit", "ed")
    assert error.startswith(f"Error: {path} changed while it was being edited; not overwritten. Your edit is saved in ")
    kept = pathlib.Path(re.sub(r".* saved in ", "", error))
    assert kept.read_text() == mine and path.read_text() == theirs
    assert [line.split()[0] for line in ok("list").stdout.splitlines()] == ["ed"]  # the kept copy is not listed


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saving_keeps_the_files_mode(user_path, editor):
    ok("create", "m", "-m", "gpt-4o-mini")
    path = store.path_for("m")
    assert _mode(path) == 0o600  # a new file is its owner's alone
    path.chmod(0o640)
    ok("create", "m", "-m", "gpt-4o", "--force")
    assert _mode(path) == 0o640
    editor(path.read_text().replace("gpt-4o", "gpt-4o-mini"))
    ok("edit", "m")
    assert _mode(path) == 0o640 and "gpt-4o-mini" in path.read_text()


def test_create_force_writes_through_a_symlink_out_of_the_folder_only_when_asked(user_path, tmp_path):
    ok("create", "x", "-m", "gpt-4o-mini")
    real = tmp_path / "dotfiles" / "x.yaml"
    real.parent.mkdir()
    store.path_for("x").rename(real)
    real.chmod(0o644)
    store.path_for("x").symlink_to(real)
    error = refused("create", "x", "-m", "gpt-4o", "--force")
    assert error == (
        f"Error: {store.path_for('x')} is a symlink to {real}, outside {store.folder()}; "
        "not written (give --force --follow-symlinks to write there)"
    )
    assert "gpt-4o-mini" in real.read_text()
    ok("create", "x", "-m", "gpt-4o", "--force", "--follow-symlinks")
    assert store.path_for("x").is_symlink() and "gpt-4o\n" in real.read_text() and _mode(real) == 0o644


def test_a_symlink_within_the_folder_is_written_without_asking(user_path):
    ok("create", "y", "-m", "gpt-4o-mini")
    real = store.folder() / "shared" / "y.yaml"
    real.parent.mkdir()
    store.path_for("y").rename(real)
    store.path_for("y").symlink_to(real)
    ok("create", "y", "-m", "gpt-4o", "--force")
    assert store.path_for("y").is_symlink() and "gpt-4o\n" in real.read_text()


def test_the_summary_cache_is_never_written_through_a_symlink_out_of_the_folder(user_path, tmp_path):
    save("team", ["alpha"])
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (store.folder() / CACHE_NAME).symlink_to(victim)
    assert "Consortium: team (members alpha" in llm_run("models").stdout
    assert victim.read_text() == "keep me\n"


def test_an_invalid_edit_reopens_the_editor_with_the_problem_as_a_comment(user_path, editor):
    ok("create", "ed", "-m", "gpt-4o-mini")
    before = store.path_for("ed").read_text()
    broken = before.replace("max_iterations: 3", "max_iterations: 99  # my careful change")
    fixed = broken.replace("max_iterations: 99", "max_iterations: 9")
    shown = editor(broken, None)  # second time: fixed by hand below
    (shown[1].parent / "answer-1").write_text(fixed + "# llm consortiums edit: stale line\n")
    result = ok("edit", "ed")
    second = shown[1].read_text()
    assert second.startswith(broken)  # the user's own text, kept, on the lines the problem names
    problem = second[len(broken):].splitlines()
    assert problem[0].startswith("# llm consortiums edit: NOT SAVED - ")
    assert "max_iterations: must be 1 to 50, got 99 (line 5)" in problem[0]
    assert broken.splitlines()[4].startswith("max_iterations: 99")
    assert store.path_for("ed").read_text() == fixed  # our comment lines taken out again
    assert "Saved" in result.stdout


def test_an_invalid_edit_saved_unchanged_or_emptied_gives_up(user_path, editor):
    ok("create", "ed", "-m", "gpt-4o-mini")
    before = store.path_for("ed").read_text()
    editor("models: [", None)  # then closed without saving
    error = refused("edit", "ed")
    assert "Edit not saved" in error and "not valid YAML" in error
    assert store.path_for("ed").read_text() == before


def test_emptying_the_file_cancels(user_path, editor):
    ok("create", "ed", "-m", "gpt-4o-mini")
    editor("models: [", "")
    assert "Edit cancelled" in refused("edit", "ed")


# --- 16. block scalars --------------------------------------------------------------------


def test_a_multi_line_system_prompt_is_saved_as_a_block_scalar(user_path):
    prompt = "You are terse.\n\nAnswer in one line.\n  Indented line kept."
    ok("create", "sys", "-m", "gpt-4o-mini", "-s", prompt)
    text = store.path_for("sys").read_text()
    assert "system_prompt: |-\n  You are terse.\n\n  Answer in one line.\n    Indented line kept.\n" in text
    assert yaml.safe_load(text)["system_prompt"] == prompt
    assert store.load("sys").system_prompt == prompt


# --- 19. the summary cache ----------------------------------------------------------------


def listing() -> str:
    result = llm_run("models")
    assert result.exit_code == 0
    return result.stdout


def test_a_rewrite_keeping_inode_size_and_mtime_is_seen(user_path):
    save("team", ["alpha"], confidence_threshold=0.5)
    assert "threshold 0.5" in listing()
    path = store.path_for("team")
    stat = path.stat()
    text = path.read_text().replace("0.5", "0.6")
    with open(path, "r+", encoding="utf-8") as handle:  # same inode, same size
        handle.write(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
    assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (
        stat.st_ino, stat.st_size, stat.st_mtime_ns,
    )
    assert "threshold 0.6" in listing()


def test_a_broken_file_is_cached_not_reread_on_every_listing(user_path):
    save("good", ["alpha"])
    store.path_for("bad").write_text("models: [")
    assert "Consortium: bad (broken:" in listing()
    cache = store.folder() / CACHE_NAME
    written = cache.stat()
    assert "Consortium: bad (broken:" in listing()
    assert (cache.stat().st_ino, cache.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)

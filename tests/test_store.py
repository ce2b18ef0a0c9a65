"""The consortium folder and its files, as `llm consortiums ...` reads and writes them:
where files go, which files count, how broken ones are reported, and that a save
is all-or-nothing. Every test has its own LLM_USER_PATH (conftest's `user_path`)."""

from __future__ import annotations

import os
import pathlib

import click
import pytest
import yaml

from helpers import ok, refused


@pytest.fixture
def folder(user_path: pathlib.Path) -> pathlib.Path:
    path = user_path / "consortiums"
    path.mkdir()
    return path








def listed(*args: str) -> dict[str, str]:
    """`list` output as {name: summary-or-BROKEN}."""
    rows = (line.split(" : ", 1) for line in ok("list", *args).stdout.splitlines())
    return {name.strip(): text for name, text in rows}


def fail_on(monkeypatch: pytest.MonkeyPatch, function: str) -> None:
    """Make one step of the atomic write fail as a full disk would."""

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, function, full_disk)


GOOD = "models:\n- model_id: gpt-4o-mini\n"


def test_files_live_in_the_llm_user_path(user_path: pathlib.Path) -> None:
    ok("create", "here", "-m", "gpt-4o-mini")
    assert [p.relative_to(user_path).as_posix() for p in user_path.rglob("*.yaml")] == [
        "consortiums/here.yaml"
    ]


def test_no_folder_means_no_consortiums(user_path: pathlib.Path) -> None:
    assert listed() == {}
    assert not (user_path / "consortiums").exists()


def test_only_valid_yaml_names_count(folder: pathlib.Path) -> None:
    for stray in [
        "notes.txt",
        ".hidden.yaml",
        ".keep.yaml.x1y2.tmp",
        "has space.yaml",
        "_lead.yaml",
        "real.yml",
        "real.YAML",
    ]:
        (folder / stray).write_text(GOOD, encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "real.yaml").write_text(GOOD, encoding="utf-8")
    assert list(listed()) == ["real"]


def test_a_file_where_the_folder_should_be(user_path: pathlib.Path) -> None:
    (user_path / "consortiums").write_text("not a folder", encoding="utf-8")
    assert listed() == {}
    assert "cannot be written" in refused("create", "x", "-m", "gpt-4o-mini")


def test_name_defaults_to_the_file_name(folder: pathlib.Path) -> None:
    (folder / "implicit.yaml").write_text(GOOD, encoding="utf-8")
    assert yaml.safe_load(ok("show", "implicit").stdout)["name"] == "implicit"


def test_saved_file_key_order(user_path: pathlib.Path) -> None:
    ok("create", "ordered", "-m", "gpt-4o-mini", "-a", "gpt-4o", "-s", "Hi")
    text = (user_path / "consortiums" / "ordered.yaml").read_text(encoding="utf-8")
    keys = [line.split(":")[0] for line in text.splitlines() if not line.startswith((" ", "-"))]
    assert keys == [
        "name",
        "models",
        "arbiter",
        "system_prompt",
        "confidence_threshold",
        "max_iterations",
        "min_iterations",
    ]


def test_yaml_is_loaded_safely(folder: pathlib.Path, tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "pwned"
    (folder / "evil.yaml").write_text(
        f'!!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8"
    )
    assert "not valid YAML" in listed()["evil"]
    assert "not valid YAML" in refused("show", "evil")
    assert not marker.exists()


def test_unreadable_entries_are_reported_not_raised(folder: pathlib.Path) -> None:
    (folder / "dir.yaml").mkdir()
    (folder / "binary.yaml").write_bytes(b"\x80\x81 models")
    rows = listed()
    assert rows["dir"].startswith("BROKEN: ") and "not a regular file (a folder)" in rows["dir"]
    assert rows["binary"].startswith("BROKEN: ") and "not UTF-8" in rows["binary"]
    assert "not UTF-8" in refused("show", "binary")
    assert "cannot be deleted" in refused("delete", "-y", "dir")
    assert "not a regular file (a folder)" in refused("edit", "dir")


def test_delete_removes_only_that_file(folder: pathlib.Path) -> None:
    for name in ["keep", "drop"]:
        (folder / f"{name}.yaml").write_text(GOOD, encoding="utf-8")
    ok("delete", "-y", "drop")
    assert sorted(os.listdir(folder)) == ["keep.yaml"]


# create puts a new file in place with a hard link (exclusive: it never replaces).
@pytest.mark.parametrize("step", ["link", "fsync"])
def test_failed_save_leaves_nothing_behind(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    fail_on(monkeypatch, step)
    error = refused("create", "new", "-m", "gpt-4o-mini")
    assert "cannot be written: No space left on device" in error
    assert os.listdir(user_path / "consortiums") == []


def write_on_edit(text: str):
    """A stand-in for click.edit that saves `text` in the file it is given."""
    return lambda *args, filename, **kwargs: pathlib.Path(filename).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("step", ["replace", "fsync"])
def test_failed_save_keeps_the_old_file(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path = folder / "kept.yaml"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr(click, "edit", write_on_edit(GOOD + "max_iterations: 5\n"))
    fail_on(monkeypatch, step)
    assert "No space left on device" in refused("edit", "kept")
    assert path.read_text(encoding="utf-8") == GOOD
    assert os.listdir(folder) == ["kept.yaml"]


def test_successful_save_leaves_no_temp_file(
    folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "kept.yaml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr(click, "edit", write_on_edit(GOOD + "max_iterations: 5\n"))
    ok("edit", "kept")
    assert os.listdir(folder) == ["kept.yaml"]
    assert "1-5 iterations" in listed()["kept"]


def test_create_works_where_hard_links_do_not(user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    ok("create", "plain", "-m", "gpt-4o-mini")
    assert sorted(os.listdir(user_path / "consortiums")) == ["plain.yaml"]
    assert "already exists" in refused("create", "plain", "-m", "gpt-4o")

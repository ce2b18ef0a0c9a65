"""A consortium file that is a symlink to another consortium's file in the same folder
(`link.yaml -> panel.yaml`): a write of `link` would rewrite `panel`, so `create
--force` and `edit` refuse it, naming both files, and change nothing."""

from __future__ import annotations

import sys

import pytest

from llm_consortium.saved import store

from helpers import ok, refused

RENAMING_EDITOR = "import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.write_text(p.read_text().replace('name: panel', 'name: link'))"


@pytest.fixture
def linked(user_path):
    """`panel` saved, and `link.yaml` a symlink to `panel.yaml` beside it."""
    ok("create", "panel", "-m", "alpha", "-m", "beta")
    store.path_for("link").symlink_to(store.path_for("panel").name)
    return store.path_for("panel").read_text()


def _refusal(name: str = "link") -> str:
    return (
        f"Error: {store.path_for(name)} is a symlink to {store.path_for('panel')}, the file of consortium 'panel' "
        f"too: writing {name!r} there would change it; not written (llm consortiums delete {name} removes the link, "
        f"so that {name!r} gets a file of its own)"
    )


def test_create_force_through_the_link_is_refused_and_panel_is_untouched(linked):
    assert refused("create", "link", "-m", "gamma", "--force") == _refusal()
    assert store.path_for("panel").read_text() == linked
    assert [m.model_id for m in store.load("panel").models] == ["alpha", "beta"]


def test_edit_through_the_link_is_refused_before_the_editor_opens(linked, monkeypatch, tmp_path):
    script = tmp_path / "rename.py"
    script.write_text(RENAMING_EDITOR)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    assert refused("edit", "link") == _refusal()
    assert store.path_for("panel").read_text() == linked
    assert "panel" in ok("list").stdout and "BROKEN" not in ok("list").stdout.split("link", 1)[0]


def test_panel_itself_and_a_link_after_it_is_deleted_are_written_as_usual(linked):
    ok("create", "panel", "-m", "gamma", "--force")  # its own regular file: no link in the way
    assert [m.model_id for m in store.load("panel").models] == ["gamma"]
    ok("delete", "link", "-y")
    assert store.path_for("panel").exists()
    ok("create", "link", "-m", "delta")
    assert not store.path_for("link").is_symlink() and store.load("panel").models[0].model_id == "gamma"

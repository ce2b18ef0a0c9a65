"""`llm consortiums edit`: change a consortium's YAML in $EDITOR, never losing the edit.

An invalid edit is not saved, and not thrown away either: the editor opens again on
the user's own text with the problem written above it as comment lines, as `git
commit` does, until the text is valid, or the user empties the file (cancel) or
saves it unchanged (give up, with the problem as the error). The file is written
atomically, keeping its permissions, through a symlink when it is one (out of the
consortiums folder only with --follow-symlinks). If the file changed while the
editor was open, it is not overwritten: the edit is kept in a file beside it.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import click

from ..errors import InvalidName, StoreError
from ..saved import store
from ..saved.cycles import find_cycle
from ..saved.names import check_name
from ..text.terminal import inert
from . import fail

# Our comment lines start with this, so they can be taken out again exactly.
MARK = "# llm consortiums edit:"


def with_problem(text: str, problem: str) -> str:
    """`text` with `problem` above it as comment lines for the next round in the editor."""
    lines = [f"{MARK} NOT SAVED - {line}" for line in inert(problem).splitlines() or [""]]
    lines.append(f"{MARK} fix the YAML below and save; empty the file to cancel.")
    return "\n".join(lines) + "\n" + without_problem(text)


def without_problem(text: str) -> str:
    """`text` without the comment lines `with_problem` put at its top."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith(MARK):
        lines.pop(0)
    return "".join(lines)


def keep_edit(path: pathlib.Path, text: str) -> pathlib.Path:
    """Save the user's edited `text` in a new file beside `path` (hidden, so it is
    not listed as a consortium), or in the temporary folder if that fails."""
    for folder in (path.parent, pathlib.Path(tempfile.gettempdir())):
        try:
            fd, kept = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.edit-", suffix=".yaml")
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return pathlib.Path(kept)
    raise fail(f"{path} changed while it was being edited, and the edit could not be kept anywhere")


def _unchanged_since(name: str, before: str) -> bool:
    """Whether consortium `name`'s file still holds `before` (not changed, replaced
    or deleted by someone else while the editor was open)."""
    try:
        return store.read_text(name)[1] == before
    except StoreError:
        return False


def _write(path: pathlib.Path, name: str, before: str, text: str, follow_symlinks: bool) -> None:
    """Save `text` over `before`, unless the file no longer holds `before`: then
    the edit goes to a file of its own and the error says where."""
    if not _unchanged_since(name, before):
        kept = keep_edit(path, text)
        raise fail(f"{path} changed while it was being edited; not overwritten. Your edit is saved in {kept}")
    try:
        store.write_text_atomic(path, text, follow_symlinks=follow_symlinks)
    except StoreError as ex:
        raise fail(ex) from ex
    except OSError as ex:
        raise fail(f"{path}: cannot be written: {ex.strerror or ex}") from ex


@click.command(name="edit")
@click.argument("name")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Write through a symlink to a file outside the consortiums folder",
)
def edit(name: str, follow_symlinks: bool) -> None:
    """
    Edit a consortium's YAML in $EDITOR

    The result is validated before it is saved. An invalid edit reopens the
    editor with the problem shown at the top as comments; empty the file to
    cancel. A symlinked file stays a symlink. If the file changes while the
    editor is open, it is not overwritten and the edit is kept beside it.

    Example usage:

    \b
        llm consortiums edit my-consortium
    """
    try:
        path, before = store.read_text(check_name(name))
        store.write_target(path, follow_symlinks=follow_symlinks)
    except (InvalidName, StoreError) as ex:
        raise fail(ex) from ex
    shown, problem, rejected = before, "", None
    while True:
        edited = click.edit(shown, extension=".yaml")
        if edited is None and not problem:
            click.echo(f"No changes to {path}", err=True)
            return
        if edited is None or without_problem(edited) == rejected:
            raise fail(f"Edit not saved, {path} is unchanged: {problem}")
        text = without_problem(edited)
        if not text.strip():
            raise fail(f"Edit cancelled (the file was emptied); {path} is unchanged")
        if text == before:
            click.echo(f"No changes to {path}", err=True)
            return
        try:
            config = store.parse(text, name, str(path))
            break
        except StoreError as ex:
            problem, rejected = str(ex), text
            shown = with_problem(text, problem)
    _write(path, name, before, text, follow_symlinks)
    click.echo(f"Saved {path}")
    loop = find_cycle(config)
    if loop:
        click.echo(
            inert(f"Warning: consortium cycle {' -> '.join(loop)}; {name!r} will refuse to run until it is broken"),
            err=True,
        )

"""`llm consortiums edit`: change a consortium's YAML in $EDITOR, never losing the edit.

An invalid edit is not saved, and not thrown away either: the editor opens again on
the user's own text with the problem written below it as comment lines, as `git
commit` does (below, so the line numbers in the problem are the editor's), until the
text is valid, or the user empties the file (cancel) or
saves it unchanged (give up, with the problem as the error). The file is written
atomically, keeping its permissions, through a symlink when it is one (out of the
consortiums folder only with --follow-symlinks; never to a file another consortium
reads too). If the file changed while the
editor was open, it is not overwritten: the edit is kept in a file beside it.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import click

from .. import files
from ..errors import InvalidName, StoreError
from ..saved import store
from ..saved.cycles import find_cycle
from ..saved.names import check_name
from ..saved.reading import MAX_FILE_BYTES
from ..text.terminal import inert
from . import fail

_FOLLOW_FLAG = "--follow-symlinks"

# Our comment lines start with this, so they can be taken out again exactly.
MARK = "# llm consortiums edit:"


def with_problem(text: str, problem: str) -> str:
    """`text` with `problem` below it as comment lines for the next round in the
    editor: below, so every line of the user's text keeps the number the problem
    gives it."""
    lines = [f"{MARK} NOT SAVED - {line}" for line in inert(problem).splitlines() or [""]]
    lines.append(f"{MARK} fix the YAML above and save; empty the file to cancel.")
    return ended(without_problem(text)) + "\n".join(lines) + "\n"


def without_problem(text: str) -> str:
    """`text` without the comment lines `with_problem` put at its end."""
    lines = text.splitlines(keepends=True)
    while lines and lines[-1].startswith(MARK):
        lines.pop()
    return "".join(lines)


def ended(text: str) -> str:
    """`text` ending in a line break (when it holds anything)."""
    return text if not text or text.endswith("\n") else text + "\n"


EDITED_MAX_BYTES = 2 * MAX_FILE_BYTES
"""The editor's file is read back only up to this size: a consortium file's cap and
room for the problem lines."""


def in_editor(text: str) -> str | None:
    """`text` edited in $EDITOR; None when it was saved unchanged or not at all.

    The temporary file is the plugin's own, in a private folder, and is read back
    the one safe way (an editor, or anyone, may leave a FIFO or a huge file there);
    a file that cannot be read back is kept and the error says where."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="llm-consortiums-edit-"))
    target = folder / "consortium.yaml"
    target.write_text(text, encoding="utf-8")
    click.edit(filename=str(target))
    try:
        edited = files.read_text(target, EDITED_MAX_BYTES)
    except FileNotFoundError as ex:
        raise fail(f"Edit not saved: the editor removed its file {target}") from ex
    except files.FileRefused as ex:
        raise fail(f"Edit not saved: the edited file {target} is {files.reason(ex)}; it is left there") from ex
    except OSError as ex:
        raise fail(f"Edit not saved: the edited file {target} cannot be read: {ex.strerror or ex}") from ex
    shutil.rmtree(folder, ignore_errors=True)
    return None if edited == text else edited


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
        store.write_target(name, follow_symlinks=follow_symlinks, flag=_FOLLOW_FLAG)
        files.write_text_atomic(path, text, follow_symlinks=follow_symlinks, flag=_FOLLOW_FLAG)
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
    editor with the problem shown below your text as comments; empty the file to
    cancel. A symlinked file stays a symlink. If the file changes while the
    editor is open, it is not overwritten and the edit is kept beside it.

    Example usage:

    \b
        llm consortiums edit my-consortium
    """
    try:
        path, before = store.read_text(check_name(name))
        store.write_target(name, follow_symlinks=follow_symlinks, flag=_FOLLOW_FLAG)
    except (InvalidName, StoreError) as ex:
        raise fail(ex) from ex
    shown, problem, rejected = before, "", None
    while True:
        edited = in_editor(shown)
        if edited is None and not problem:
            click.echo(f"No changes to {path}", err=True)
            return
        if edited is None or ended(without_problem(edited)) == rejected:
            raise fail(f"Edit not saved, {path} is unchanged: {problem}")
        text = without_problem(edited)
        if problem:
            text = ended(text)
        if not text.strip():
            raise fail(f"Edit cancelled (the file was emptied); {path} is unchanged")
        if text == before:
            click.echo(f"No changes to {path}", err=True)
            return
        try:
            config = store.parse(text, name, str(path))
            break
        except StoreError as ex:
            problem, rejected = str(ex), ended(text)
            shown = with_problem(text, problem)
    _write(path, name, before, text, follow_symlinks)
    click.echo(f"Saved {path}")
    loop = find_cycle(config)
    if loop:
        click.echo(
            inert(f"Warning: consortium cycle {' -> '.join(loop)}; {name!r} will refuse to run until it is broken"),
            err=True,
        )

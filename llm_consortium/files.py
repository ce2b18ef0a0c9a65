"""The one way the plugin opens a file it reads or writes: consortium files, the price
table, the aliases it reads from llm, eval datasets, the results and shared-limits
databases, and `edit`'s temporary file (docs/safety.md lists them with their limits).

Anyone can put anything where the plugin looks: a FIFO (whose open or read waits
forever), `/dev/zero` (endless), a folder, a huge file, a symlink to somewhere else.
So a read costs a stat and a bounded, non-blocking read, and ends, on anything but a
regular file within its size cap, as one line naming the file, what it is, and what
to do. A write is atomic, keeps the mode of the file it replaces, and goes through a
symlink out of its folder only when the command has a flag for it and the user gave it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import stat
import tempfile

from .errors import FileRefused, OutsideFolder

__all__ = ["FileRefused", "check_database", "kind", "read_bytes", "read_text", "reason", "write_target",
           "write_text_atomic"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)

REPLACE = "replace it with a regular file or remove it"
"""What to do about a path that is not a regular file."""

DATASET_MAX_BYTES = 64 << 20
"""An eval dataset may hold at most this many bytes (64 MiB); consortium files and the
price table have caps of their own (1 MiB), beside the code that reads them."""


def _refused(path: os.PathLike[str] | str, reason: str, advice: str) -> FileRefused:
    error = FileRefused(f"{path}: {reason}; {advice}")
    error.reason = reason  # type: ignore[attr-defined]
    return error


def kind(mode: int) -> str | None:
    """What a file of this mode is when it is not a regular file ("a FIFO"), else None."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _check(path: os.PathLike[str] | str, status: os.stat_result, limit: int | None) -> None:
    what = kind(status.st_mode)
    if what is not None:
        raise _refused(path, f"not a regular file ({what})", REPLACE)
    if limit is not None and status.st_size > limit:
        raise _refused(
            path, f"too large ({status.st_size:,} bytes; the limit is {limit:,})", "make it smaller or remove it"
        )


def reason(error: FileRefused) -> str:
    """The problem `error` names, without the path and the advice."""
    return str(getattr(error, "reason", error))


def read_bytes(path: os.PathLike[str] | str, limit: int) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `limit`.

    FileRefused for anything else; FileNotFoundError (or another OSError) when it
    cannot be opened. The file is checked with stat before it is opened, opened
    non-blocking and checked again with fstat, so a FIFO swapped in between cannot
    block the open, and read at most `limit` + 1 bytes, so a file that grows (or
    lies about its size) cannot make the read endless."""
    _check(path, os.stat(path), limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _check(path, os.fstat(fd), limit)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise _refused(path, f"too large (more than {limit:,} bytes)", "make it smaller or remove it")
    return b"".join(chunks)


def read_text(path: os.PathLike[str] | str, limit: int, encoding: str = "utf-8") -> str:
    """`read_bytes` decoded; FileRefused naming the line of a byte that is not UTF-8."""
    data = read_bytes(path, limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as ex:
        line = data.count(b"\n", 0, ex.start) + 1
        raise _refused(path, f"not UTF-8 text (line {line}, byte {ex.start})", "save it as UTF-8") from ex


def check_database(path: os.PathLike[str] | str) -> None:
    """Refuse a database file SQLite would hang on or write outside its folder: it
    may be absent (SQLite makes it), else it must be a regular file, and a symlink
    must stay in its folder (no command has a flag to write a database elsewhere)."""
    path = pathlib.Path(path)
    real, base = os.path.realpath(path), os.path.realpath(path.parent)
    if os.path.commonpath([base, real]) != base:
        raise _refused(path, f"a symlink to {real}, outside {base}", "replace the link with a file or remove it")
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return
    _check(path, status, None)


def write_target(path: pathlib.Path, *, follow_symlinks: bool = False, flag: str | None = None) -> pathlib.Path:
    """The file a write to `path` replaces: `path` itself, or the file its symlink
    points to. A symlink to a file outside `path`'s folder is OutsideFolder unless
    `follow_symlinks`: writing there could replace any file the user can write.
    `flag` is the option of the running command that allows it, if it has one: the
    error names it only then."""
    real = pathlib.Path(os.path.realpath(path))
    base = os.path.realpath(path.parent)
    if not follow_symlinks and os.path.commonpath([base, real]) != base:
        todo = f"give {flag} to write there" if flag else "replace the link with a file or remove it"
        raise OutsideFolder(f"{path} is a symlink to {real}, outside {base}; not written ({todo})")
    return real


def write_text_atomic(
    path: pathlib.Path, text: str, *, exclusive: bool = False, follow_symlinks: bool = False, flag: str | None = None
) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a part.

    A symlink is written through (its target is replaced, the link kept), within
    the folder unless `follow_symlinks` (see `write_target`). A file that exists
    keeps its permissions (and its owner and group where allowed); a new one is
    readable by its owner only. A folder or device in the way is FileRefused. With
    `exclusive`, the file must not exist: the complete temporary file is hard-linked
    into place, which fails with FileExistsError if any other writer got there first,
    so checking and writing are one step."""
    path = write_target(pathlib.Path(path), follow_symlinks=follow_symlinks, flag=flag)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(status.st_mode):
            raise _refused(path, "not a regular file (a folder)", "remove or rename it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as ex:  # a file where the folder should be: not "exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from ex
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _keep_permissions(fd, path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _move_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _keep_permissions(fd: int, path: pathlib.Path) -> None:
    """Give the new file (open as `fd`) the mode, owner and group of the regular file
    it replaces, so a save never makes a shared file private or a private one shared."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(old.st_mode):
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    with contextlib.suppress(OSError):  # only root may give a file away
        os.fchown(fd, old.st_uid, old.st_gid)


def _move_exclusive(tmp: str, path: pathlib.Path) -> None:
    """Move `tmp` to `path` only if `path` does not exist (else FileExistsError)."""
    try:
        os.link(tmp, path)
    except OSError as ex:
        if isinstance(ex, FileExistsError) or ex.errno not in _NO_HARD_LINKS:
            raise
        # A filesystem without hard links: claim the name exclusively, then fill it.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV}

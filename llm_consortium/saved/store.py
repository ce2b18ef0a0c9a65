"""Where consortiums live: one YAML file per consortium in `llm.user_dir()/consortiums`.

Listing only reads the folder (it runs on every `llm` model lookup); loading parses
and validates one file, within the limits `reading` enforces (whoever wrote it);
saving is atomic so a crash never leaves half a config, keeps an existing file's
permissions, and follows a symlink out of the folder only when asked.

`llm models` prints a summary line per consortium, which takes reading, parsing and
validating its file (about a quarter of a millisecond each: a quarter of a second for
a thousand). So each summary, or a broken file's error, is cached with its file's
inode, mtime, ctime (nanoseconds) and size in one JSON file in the folder: a listing
reads one file and stats the rest, and a file that changed, by whatever means (even a
rewrite that keeps size and mtime: its ctime moves), is read again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import pathlib
import stat
import tempfile
from typing import TYPE_CHECKING

import llm
import yaml

from ..errors import AlreadyExists, OutsideFolder, StoreError
from . import reading
from .names import FOLDER_NAME, check_name

if TYPE_CHECKING:
    from .config import ConsortiumConfig

SUFFIX = ".yaml"
CACHE_NAME = ".summaries.json"

logger = logging.getLogger(__name__)


class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (a system prompt, say) as `|` block scalars, which read as
    they were typed, instead of quoted strings with `\n` and doubled blank lines."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style itself where a block cannot hold the text.
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStrings.add_representer(str, _str)


def folder() -> pathlib.Path:
    """The consortium folder (honours LLM_USER_PATH); not created here."""
    return llm.user_dir() / FOLDER_NAME


def path_for(name: str) -> pathlib.Path:
    """The file for `name`, after the name rule has refused anything unsafe."""
    return folder() / f"{check_name(name)}{SUFFIX}"


def list_names() -> list[str]:
    """Names of saved consortiums, sorted; no file is opened."""
    try:
        entries = os.listdir(folder())
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = []
    for entry in entries:
        if entry.endswith(SUFFIX) and not entry.startswith("."):
            stem = entry[: -len(SUFFIX)]
            try:
                names.append(check_name(stem))
            except ValueError:
                continue
    return sorted(names)


def parse(text: str, name: str, where: str) -> ConsortiumConfig:
    """Validate YAML text as the consortium `name`; StoreError says what is wrong,
    and where, without repeating the text (see `reading`)."""
    try:
        data, root = reading.load_yaml(text)
    except StoreError as ex:
        raise StoreError(f"{where}: {ex}") from ex
    if data is None:
        raise StoreError(f"{where}: file is empty")
    if not isinstance(data, dict):
        raise StoreError(f"{where}: expected a mapping, got {type(data).__name__}")
    data.setdefault("name", name)
    if data["name"] != name:
        raise StoreError(f"{where}: the name setting does not match the file name {name!r}")
    from pydantic import ValidationError

    from .config import ConsortiumConfig, field_names

    try:
        return ConsortiumConfig.model_validate(data)
    except ValidationError as ex:
        raise StoreError(f"{where}: {reading.describe(ex.errors(), root, field_names())}") from ex


def read_text(name: str) -> tuple[pathlib.Path, str]:
    """(path, text) of consortium `name`'s file, unparsed (what `edit` opens);
    StoreError when it is missing, unreadable, not a regular file or too large."""
    path = path_for(name)
    try:
        return path, reading.read_bounded(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise StoreError(f"{path}: a symlink to a file that does not exist") from None
        raise StoreError(f"No consortium named {name!r} (looked for {path})") from None
    except StoreError as ex:
        raise StoreError(f"{path}: {ex}") from ex
    except OSError as ex:
        raise StoreError(f"{path}: cannot be read: {ex.strerror or type(ex).__name__}") from ex


def load(name: str) -> ConsortiumConfig:
    """Read and validate one consortium."""
    path, text = read_text(name)
    return parse(text, name, str(path))


def dump(config: ConsortiumConfig) -> str:
    """The YAML text for a config, in the documented key order."""
    return yaml.dump(config.to_file_dict(), Dumper=_BlockStrings, sort_keys=False, allow_unicode=True)


def write_target(path: pathlib.Path, *, follow_symlinks: bool = False) -> pathlib.Path:
    """The file a write to `path` replaces: `path` itself, or the file its symlink
    points to. A symlink to a file outside `path`'s folder is OutsideFolder unless
    `follow_symlinks`: writing there could replace any file the user can write."""
    real = pathlib.Path(os.path.realpath(path))
    base = os.path.realpath(path.parent)
    if not follow_symlinks and os.path.commonpath([base, real]) != base:
        raise OutsideFolder(
            f"{path} is a symlink to {real}, outside {base}; not written "
            "(--follow-symlinks writes there)"
        )
    return real


def write_text_atomic(
    path: pathlib.Path, text: str, *, exclusive: bool = False, follow_symlinks: bool = False
) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a part.

    A symlink is written through (its target is replaced, the link kept), within
    the folder unless `follow_symlinks` (see `write_target`). A file that exists
    keeps its permissions (and its owner and group where allowed); a new one is
    readable by its owner only. With `exclusive`, the file must not exist: the
    complete temporary file is hard-linked into place, which fails with
    FileExistsError if any other writer got there first, so checking and writing
    are one step."""
    path = write_target(pathlib.Path(path), follow_symlinks=follow_symlinks)
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
    """Give the new file (open as `fd`) the mode, owner and group of the one it
    replaces, so a save never makes a shared file private or a private one shared."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
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


def save(config: ConsortiumConfig, *, replace: bool = True, follow_symlinks: bool = False) -> pathlib.Path:
    """Write a consortium atomically; returns the file's path. With `replace=False`
    an existing consortium of that name is AlreadyExists, however close the race;
    OutsideFolder for a symlink out of the folder unless `follow_symlinks`."""
    path = path_for(config.name)
    try:
        write_text_atomic(path, dump(config), exclusive=not replace, follow_symlinks=follow_symlinks)
    except FileExistsError as ex:
        raise AlreadyExists(f"Consortium {config.name!r} already exists ({path}); use --force to replace it") from ex
    except OSError as ex:
        raise StoreError(f"{path}: cannot be written: {ex.strerror or ex}") from ex
    return path


def delete(name: str) -> pathlib.Path:
    """Remove a consortium's file; StoreError if there is none."""
    path = path_for(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise StoreError(f"No consortium named {name!r} (looked for {path})") from None
    except OSError as ex:
        raise StoreError(f"{path}: cannot be deleted: {ex.strerror or ex}") from ex
    return path


# --- the summary cache

# folder -> {name: [inode, mtime_ns, ctime_ns, size, summary, error]}, loaded once per
# process; a broken file has summary None and its error, so it is not re-read either.
_loaded: dict[pathlib.Path, dict[str, list]] = {}
_folders: dict[str | None, pathlib.Path] = {}
_KEY_LENGTH = 4
_ENTRY_LENGTH = _KEY_LENGTH + 2


def _key(path: pathlib.Path) -> list[int]:
    stat = path.stat()
    return [stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size]


def _read_cache(directory: pathlib.Path) -> dict[str, list]:
    try:
        data = json.loads(reading.read_bounded(directory / CACHE_NAME))
    except (OSError, ValueError, StoreError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if _well_formed(v)}


def _well_formed(entry: object) -> bool:
    """A cache entry as `_refresh` writes it: the key's integers, then a summary or
    an error (a hand-edited cache must not print `broken: None`)."""
    if not isinstance(entry, list) or len(entry) != _ENTRY_LENGTH:
        return False
    key, (summary, error) = entry[:_KEY_LENGTH], entry[_KEY_LENGTH:]
    if not all(isinstance(part, int) for part in key):
        return False
    if summary is None:
        return isinstance(error, str) and bool(error)
    return isinstance(summary, str) and error is None


def _refresh(directory: pathlib.Path, cache: dict[str, list]) -> None:
    """Bring every saved consortium's entry up to date and write the cache once.

    Done for all of them at the first stale entry, so listing a thousand new files
    parses each once and writes the cache once, not a thousand times.
    """
    fresh: dict[str, list] = {}
    for name in list_names():
        try:
            key = _key(path_for(name))
        except OSError:
            continue
        entry = cache.get(name)
        if entry is not None and entry[:_KEY_LENGTH] == key:
            fresh[name] = entry
            continue
        try:
            fresh[name] = [*key, load(name).summary(), None]
        except (StoreError, ValueError) as ex:
            fresh[name] = [*key, None, str(ex)]  # broken: the error, until the file changes
    cache.clear()
    cache.update(fresh)
    try:
        write_text_atomic(directory / CACHE_NAME, json.dumps(cache))
    except (OSError, StoreError) as ex:
        logger.debug("consortium summary cache not written: %s", ex)


def _cached_folder() -> pathlib.Path:
    """`folder()`, remembered per LLM_USER_PATH value (all llm.user_dir() reads):
    user_dir() creates the directory on every call, which a thousand times over
    would cost more than the whole cached listing."""
    env = os.environ.get("LLM_USER_PATH")
    path = _folders.get(env)
    if path is None:
        path = _folders[env] = folder()
    return path


def cached_summary(name: str) -> str:
    """`ConsortiumConfig.summary()` of consortium `name`, from the cache; raises
    StoreError as `load` does."""
    directory = _cached_folder()
    try:
        key = _key(directory / f"{check_name(name)}{SUFFIX}")
    except OSError:
        return load(name).summary()  # raises the precise error
    cache = _loaded.get(directory)
    if cache is None:
        cache = _loaded[directory] = _read_cache(directory)
    entry = cache.get(name)
    if entry is None or entry[:_KEY_LENGTH] != key:
        _refresh(directory, cache)
        entry = cache.get(name)
        if entry is None or entry[:_KEY_LENGTH] != key:
            return load(name).summary()
    summary, error = entry[_KEY_LENGTH:]
    if summary is None:
        raise StoreError(error)
    return summary

"""Where consortiums live: one YAML file per consortium in `llm.user_dir()/consortiums`.

Listing only reads the folder (it runs on every `llm` model lookup); loading parses
and validates one file, within the limits `reading` enforces (whoever wrote it);
saving is atomic so a crash never leaves half a config, keeps an existing file's
permissions, and follows a symlink out of the folder only when asked.

`llm models` prints a summary line per consortium, which takes reading, parsing and
validating its file: with many consortiums saved, most of what a listing costs
(docs/performance.md#llm-models-listing). So each summary, or a broken file's error,
is cached with its file's inode, mtime, ctime (nanoseconds) and size in one JSON file
in the folder: a listing reads one file and stats the rest, and a file that changed,
by whatever means (even a rewrite that keeps size and mtime: its ctime moves), is
read again.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from typing import TYPE_CHECKING

import llm
import yaml

from .. import files
from ..errors import AlreadyExists, FileRefused, StoreError
from ..text.words import naming
from . import reading
from .names import FOLDER_NAME, check_name

if TYPE_CHECKING:
    from .config import ConsortiumConfig  # a file that calls itself is refused here, at read time

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
    from .config import field_names

    try:
        data, root = reading.load_yaml(text, field_names())
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

    from .config import ConsortiumConfig  # a file that calls itself is refused here, at read time

    try:
        config = ConsortiumConfig.model_validate(data)
    except ValidationError as ex:
        raise StoreError(f"{where}: {reading.describe(ex.errors(), root, field_names())}") from ex
    if name in [member.model_id for member in config.models]:
        raise StoreError(f"{where}: lists itself ({name!r}) as a member: it would call itself; remove that member")
    if config.arbiter is not None and config.arbiter.model_id == name:
        raise StoreError(f"{where}: names itself ({name!r}) as its arbiter: it would call itself; choose another")
    return config


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


def sharing(name: str) -> list[str]:
    """The other saved consortiums whose files are the file consortium `name`'s path
    leads to through a symlink (`link.yaml -> panel.yaml`: ['panel']); [] when its
    path is not a link or its target is its own."""
    path = path_for(name)
    real = os.path.realpath(path)
    if real == os.path.join(os.path.realpath(path.parent), path.name):
        return []
    return [other for other in list_names() if other != name and os.path.realpath(path_for(other)) == real]


def write_target(name: str, *, follow_symlinks: bool = False, flag: str | None = None) -> pathlib.Path:
    """The file a write of consortium `name` replaces (`files.write_target`), refused
    as StoreError when another consortium reads that file too: a file holds one
    consortium, whose `name` must match its file name, so writing `link` through
    `link.yaml -> panel.yaml` would leave `panel` broken, or silently changed."""
    path = path_for(name)
    real = files.write_target(path, follow_symlinks=follow_symlinks, flag=flag)
    others = sharing(name)
    if others:
        raise StoreError(
            f"{path} is a symlink to {real}, the file of {naming('consortium', others)} too: "
            f"writing {name!r} there would change "
            f"{'it' if len(others) == 1 else 'them'}; not written (llm consortiums delete {name} removes the link, "
            f"so that {name!r} gets a file of its own)"
        )
    return real


def save(
    config: ConsortiumConfig, *, replace: bool = True, follow_symlinks: bool = False, flag: str | None = None
) -> pathlib.Path:
    """Write a consortium atomically; returns the file's path. With `replace=False`
    an existing consortium of that name is AlreadyExists, however close the race;
    OutsideFolder for a symlink out of the folder unless `follow_symlinks`; StoreError
    for a symlink to a file another consortium reads (`write_target`)."""
    path = path_for(config.name)
    write_target(config.name, follow_symlinks=follow_symlinks, flag=flag)
    try:
        files.write_text_atomic(
            path, dump(config), exclusive=not replace, follow_symlinks=follow_symlinks, flag=flag
        )
    except FileExistsError as ex:
        raise AlreadyExists(f"Consortium {config.name!r} already exists ({path}); use --force to replace it") from ex
    except FileRefused as ex:
        raise StoreError(str(ex)) from ex
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
        files.write_text_atomic(directory / CACHE_NAME, json.dumps(cache))
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

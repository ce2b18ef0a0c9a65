"""The one-line summary `llm models` prints for each consortium, cached across runs.

Why: `llm models` prints every registered model, and a consortium's line names its
members and arbiter, which takes reading, parsing and validating its YAML file
(about a quarter of a millisecond each: a quarter of a second for a thousand). The
cache keeps each summary with its file's inode, mtime and size in one JSON file in
the consortium folder, so a listing reads one file and stats the rest; a file that
changed, by whatever means, is read again.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from typing import Optional

from . import store
from .names import check_name

logger = logging.getLogger(__name__)

CACHE_NAME = ".summaries.json"

# folder -> {name: [inode, mtime_ns, size, summary]}, loaded once per process
_loaded: dict[pathlib.Path, dict[str, list]] = {}
_folders: dict[Optional[str], pathlib.Path] = {}


def _key(path: pathlib.Path) -> list[int]:
    stat = path.stat()
    return [stat.st_ino, stat.st_mtime_ns, stat.st_size]


def _read_cache(folder: pathlib.Path) -> dict[str, list]:
    try:
        data = json.loads((folder / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 4}


def _refresh(folder: pathlib.Path, cache: dict[str, list]) -> None:
    """Bring every saved consortium's entry up to date and write the cache once.

    Done for all of them at the first stale entry, so listing a thousand new files
    parses each once and writes the cache once, not a thousand times.
    """
    fresh: dict[str, list] = {}
    for name in store.list_names():
        try:
            key = _key(store.path_for(name))
        except OSError:
            continue
        entry = cache.get(name)
        if entry is not None and entry[:3] == key:
            fresh[name] = entry
            continue
        try:
            fresh[name] = [*key, store.load(name).summary()]
        except (store.ConsortiumError, ValueError):
            continue  # a broken file is reported when shown, never cached
    cache.clear()
    cache.update(fresh)
    try:
        store.write_text_atomic(folder / CACHE_NAME, json.dumps(cache))
    except OSError as ex:
        logger.debug("consortium summary cache not written: %s", ex)


def _folder() -> pathlib.Path:
    """`store.folder()`, remembered per LLM_USER_PATH value (all llm.user_dir() reads):
    user_dir() creates the directory on every call, which a thousand times over
    would cost more than the whole cached listing."""
    env = os.environ.get("LLM_USER_PATH")
    folder = _folders.get(env)
    if folder is None:
        folder = _folders[env] = store.folder()
    return folder


def summary(name: str) -> str:
    """The summary line of consortium `name`; raises ConsortiumError as `store.load` does."""
    folder = _folder()
    try:
        key = _key(folder / f"{check_name(name)}{store.SUFFIX}")
    except OSError:
        return store.load(name).summary()  # raises the precise error
    cache = _loaded.get(folder)
    if cache is None:
        cache = _loaded[folder] = _read_cache(folder)
    entry = cache.get(name)
    if entry is None or entry[:3] != key:
        _refresh(folder, cache)
        entry = cache.get(name)
        if entry is None or entry[:3] != key:
            return store.load(name).summary()
    return entry[3]

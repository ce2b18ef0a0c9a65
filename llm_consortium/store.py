"""Where consortiums live: one YAML file per consortium in `llm.user_dir()/consortiums`.

Listing only reads the folder (it runs on every `llm` model lookup); loading parses
and validates one file; saving is atomic so a crash never leaves half a config.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import TYPE_CHECKING

import llm
import yaml

from .names import check_name

if TYPE_CHECKING:
    from .config import ConsortiumConfig

SUFFIX = ".yaml"


class ConsortiumError(Exception):
    """A consortium that cannot be found, read or saved; the message is for users."""


def folder() -> pathlib.Path:
    """The consortium folder (honours LLM_USER_PATH); not created here."""
    return llm.user_dir() / "consortiums"


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


def _loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str, name: str, where: str) -> ConsortiumConfig:
    """Validate YAML text as the consortium `name`; ConsortiumError says what is wrong."""
    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as ex:
        mark = getattr(ex, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConsortiumError(f"{where}: not valid YAML{at}: {getattr(ex, 'problem', ex)}")
    if data is None:
        raise ConsortiumError(f"{where}: file is empty")
    if not isinstance(data, dict):
        raise ConsortiumError(f"{where}: expected a mapping, got {type(data).__name__}")
    data.setdefault("name", name)
    if data["name"] != name:
        raise ConsortiumError(
            f"{where}: name {data['name']!r} does not match the file name {name!r}"
        )
    from pydantic import ValidationError

    from .config import ConsortiumConfig, explain

    try:
        return ConsortiumConfig.model_validate(data)
    except ValidationError as ex:
        raise ConsortiumError(f"{where}: {explain(ex)}")


def load(name: str) -> ConsortiumConfig:
    """Read and validate one consortium."""
    path = path_for(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConsortiumError(f"No consortium named {name!r} (looked for {path})")
    except OSError as ex:
        raise ConsortiumError(f"{path}: cannot be read: {ex.strerror or ex}")
    except UnicodeDecodeError as ex:
        raise ConsortiumError(f"{path}: not UTF-8 text (byte {ex.start})")
    return parse(text, name, str(path))


def dump(config: ConsortiumConfig) -> str:
    """The YAML text for a config, in the documented key order."""
    return yaml.safe_dump(config.to_file_dict(), sort_keys=False, allow_unicode=True)


def write_text_atomic(path: pathlib.Path, text: str) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save(config: ConsortiumConfig) -> pathlib.Path:
    """Write a consortium atomically; returns the file's path."""
    path = path_for(config.name)
    try:
        write_text_atomic(path, dump(config))
    except OSError as ex:
        raise ConsortiumError(f"{path}: cannot be written: {ex.strerror or ex}")
    return path


def delete(name: str) -> pathlib.Path:
    """Remove a consortium's file; ConsortiumError if there is none."""
    path = path_for(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise ConsortiumError(f"No consortium named {name!r} (looked for {path})")
    except OSError as ex:
        raise ConsortiumError(f"{path}: cannot be deleted: {ex.strerror or ex}")
    return path

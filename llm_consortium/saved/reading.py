"""Reading a consortium file that anyone could have written: bounded, never blocking,
and never repeating the file's content back in an error.

Every `llm` command that lists models reads these files, so a FIFO, a device, a
huge file or a YAML alias bomb in the folder must cost a stat and a bounded read,
and end as one error line that says what is wrong and where (a line number), not
what the file holds: the file may be a symlink to something private.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from .. import files
from ..errors import FileRefused, StoreError

MAX_FILE_BYTES = 1 << 20
"""A consortium file may hold at most this many bytes (1 MiB)."""

MAX_VALUES = 10_000
"""At most this many YAML values (scalars, lists, mappings) once every alias is
expanded; an alias counts the whole value it names each time it is used."""

MAX_EXPANDED_CHARS = 2 * MAX_FILE_BYTES
"""At most this many characters of text (keys and values) once every alias is
expanded: room for any file under the size cap, not for one string named a
thousand times."""

MAX_DEPTH = 32
"""Lists and mappings nest at most this deep."""

def read_bounded(path: pathlib.Path) -> str:
    """The UTF-8 text of the regular file at `path` (symlinks followed), at most
    MAX_FILE_BYTES, read the one safe way (`files.read_text`). StoreError (a reason
    without the path) for anything else; FileNotFoundError when there is no file."""
    try:
        return files.read_text(path, MAX_FILE_BYTES)
    except FileRefused as ex:
        raise StoreError(files.reason(ex)) from ex


# --- YAML


def _loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _line(node: yaml.Node | None) -> str:
    mark = getattr(node, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _no_duplicate_keys(node: yaml.Node, fields: frozenset[str]) -> None:
    """Refuse a mapping that names a key twice: YAML keeps the last silently, so a
    second `models:` would replace the first list without a word. The key is named
    only when it is one of the format's own `fields` (else it is the file's text)."""
    if not isinstance(node, yaml.MappingNode):
        return
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        if (key.tag, key.value) in seen:
            named = f"{key.value!r} " if key.value in fields else ""
            raise StoreError(f"the key {named}appears twice in one mapping{_line(key)}; keep one")
        seen.add((key.tag, key.value))


def _measure(root: yaml.Node, fields: frozenset[str] = frozenset()) -> None:
    """Refuse a document that is too big once aliases are expanded (too many values,
    or too much text: one long string named a thousand times), too deep, or
    recursive, or that names a key twice in one mapping, before anything is built
    from it. The composed nodes share what
    aliases name, so this walk costs one visit per distinct node however large the
    expansion would be."""
    sizes: dict[int, tuple[int, int]] = {}  # node -> (values, characters) expanded
    active = {id(root)}
    stack: list[tuple[yaml.Node, Iterator[yaml.Node]]] = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            active.discard(id(node))
            sizes[id(node)] = _expanded(node, sizes)
            _no_duplicate_keys(node, fields)
            continue
        if id(child) in sizes:
            continue
        if id(child) in active:
            raise StoreError(f"an alias refers to a value that contains it{_line(child)}")
        if len(stack) >= MAX_DEPTH:
            raise StoreError(f"nested more than {MAX_DEPTH} levels deep{_line(child)}")
        active.add(id(child))
        stack.append((child, iter(_children(child))))


def _expanded(node: yaml.Node, sizes: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values, characters) of `node` with every alias expanded, from its children's;
    StoreError past MAX_VALUES or MAX_EXPANDED_CHARS."""
    values, chars = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0
    for part in _children(node):
        values, chars = values + sizes[id(part)][0], chars + sizes[id(part)][1]
    if values > MAX_VALUES:
        raise StoreError(f"too many values{_line(node)}: more than {MAX_VALUES:,} once aliases are expanded")
    if chars > MAX_EXPANDED_CHARS:
        raise StoreError(
            f"too much text{_line(node)}: more than {MAX_EXPANDED_CHARS:,} characters once aliases are expanded"
        )
    return values, chars


def load_yaml(text: str, fields: frozenset[str] = frozenset()) -> tuple[Any, yaml.Node | None]:
    """(data, root node) of YAML text within the limits above, no key twice in one
    mapping; StoreError says what is wrong and on which line, without quoting the
    text (but for a key among `fields`, the format's own words)."""
    try:
        loader = _loader()(text)  # PyYAML's own reader checks the characters here
    except yaml.YAMLError as ex:
        raise StoreError(f"not valid YAML{_yaml_reason(ex, text)}") from ex
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _measure(root, fields)
        return loader.construct_document(root), root
    except StoreError:
        raise
    except yaml.YAMLError as ex:
        raise StoreError(f"not valid YAML{_yaml_reason(ex, text)}") from ex
    except RecursionError as ex:
        raise StoreError("not valid YAML: nested too deeply") from ex
    except Exception as ex:
        # A tagged value PyYAML's constructors cannot build (`!!int x`, `!!int` with
        # no digits, a bad timestamp) fails in whatever way the constructor does.
        raise StoreError("not valid YAML: a value cannot be read as its type") from ex
    finally:
        loader.dispose()


# --- YAML errors, worded without the file's content

# What PyYAML quotes in a problem is either its own word, kept, or the file's text,
# left out: a token it expected or found (`','`, `'<block end>'`), or a tag, shown as
# far as YAML and PyYAML name it. Anything else quoted (a character, an alias's or an
# anchor's name, an escape) is the file's own and is dropped; the sentence reads whole
# without it ("found undefined alias").
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_TOKEN = re.compile(r"<[a-z ]+>|[^\w\s'\"\\]")
_STANDARD_TAGS = "tag:yaml.org,2002:"
_PYTHON_TAGS = (
    "python/none", "python/bool", "python/str", "python/unicode", "python/bytes", "python/int", "python/long",
    "python/float", "python/complex", "python/list", "python/tuple", "python/dict",
)
_PYTHON_TAG_PREFIXES = ("python/object/apply:", "python/object/new:", "python/object:", "python/name:",
                        "python/module:")


def shown_tag(tag: str) -> str:
    """A YAML tag as an error names it: PyYAML's own (`!!python/object:…`, the part
    after the colon, a Python name, left out) or `!!…`/`!…` for one the file made up."""
    if not tag.startswith(_STANDARD_TAGS):
        return "!…"
    rest = tag[len(_STANDARD_TAGS):]
    if rest in _PYTHON_TAGS:
        return f"!!{rest}"
    prefix = next((p for p in _PYTHON_TAG_PREFIXES if rest.startswith(p)), None)
    return f"!!{prefix}…" if prefix else "!!…"


def _without_content(problem: str) -> str:
    """PyYAML's `problem` with only its own quoted words left (see `_QUOTED`)."""

    def keep(match: re.Match[str]) -> str:
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        if _TOKEN.fullmatch(quoted):
            return match.group(0)
        if problem[: match.start()].rstrip().endswith("the tag"):
            return shown_tag(quoted)
        return ""

    return re.sub(r" ([;,])", r"\1", " ".join(_QUOTED.sub(keep, problem).split()))


def _yaml_reason(error: yaml.YAMLError, text: str) -> str:
    """` (line N): reason` for a YAML error: PyYAML's whole sentence, never the file's
    text (`_without_content`)."""
    if isinstance(error, yaml.reader.ReaderError):
        character = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
        line = text.count("\n", 0, error.position) + 1
        return f" (line {line}): {error.reason} (#x{character:04x})"
    mark = getattr(error, "problem_mark", None)
    at = f" (line {mark.line + 1})" if mark is not None else ""
    problem = _without_content(str(getattr(error, "problem", None) or "")) or "cannot be parsed"
    context = str(getattr(error, "context", None) or "")
    if context.startswith("found "):  # the first half of the sentence: "found duplicate anchor; first occurrence"
        first = getattr(error, "context_mark", None)
        where = f" (line {first.line + 1})" if first is not None else ""
        problem = f"{_without_content(context)}{where}, {problem}"
    return f"{at}: {problem}"


# --- validation errors, worded without the file's content

MAX_PROBLEMS = 5
"""An error names at most this many problems, then counts the rest."""


def _step(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    """The node under `node` that pydantic's location `part` names, if any."""
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    return None


def _key_node(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key
    return None


def describe(errors: Sequence[Any], root: yaml.Node | None, fields: frozenset[str]) -> str:
    """pydantic's errors (`ValidationError.errors()`) on one line, each as
    `where: problem (line N)`. A location is shown only as far as it is made of
    the schema's own `fields` and list positions; an unknown key is named by its
    line, and a message that would repeat the offending value is replaced."""
    problems = []
    for err in errors:
        parts = list(err["loc"])
        node, shown = (root if parts else None), []
        extra = err["type"] == "extra_forbidden"
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            is_position = isinstance(part, int) and isinstance(node, yaml.SequenceNode)
            if extra and last:
                node = _key_node(node, part) or node
                break
            if not (is_position or part in fields):
                break
            shown.append(str(part))
            node = _step(node, part)
        value = err.get("input")
        message = str(err["msg"])
        if extra:
            message = "unknown setting"
        elif isinstance(value, str) and value and (f"'{value}'" in message or (len(value) > 3 and value in message)):
            message = f"invalid value ({err['type']})"
        where = ".".join(shown)
        problems.append(f"{where + ': ' if where else ''}{message}{_line(node)}")
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"and {len(problems) - MAX_PROBLEMS:,} more"]
    return " ".join("; ".join(problems).split())

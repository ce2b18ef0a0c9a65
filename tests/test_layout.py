"""The package's shape, checked: no import cycle between its modules (imports inside
functions included), every import pointing at a module listed above on the
architecture page, the engine side free of llm, click, YAML and pydantic, the hooks
module importing nothing heavy, no module over 400 lines. A newcomer reads the
package top-down only while these hold."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from helpers import save, subprocess_env

PACKAGE = Path(__file__).resolve().parent.parent / "llm_consortium"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every package module `path` imports, at any depth, lazily or not."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("llm_consortium"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("llm_consortium"))
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        targets = {t for t in _imports(path) if t in paths and t != name}
        # importing a.b imports package a first: only count it when a is not an ancestor
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_package_modules_lazy_imports_included():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _listed() -> list[str]:
    """The modules docs/architecture.md lists, as paths under the package, in page order."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([\w/]+\.py)` \|", page, re.M)


def _module_of(listed: str) -> str:
    return _module_name(PACKAGE / listed)


def _upward(graph: dict[str, set[str]], listed: list[str]) -> list[str]:
    """Every import of a module listed below the importer (a subpackage's
    docstring-only `__init__` is not listed and not counted)."""
    order = {_module_of(path): i for i, path in enumerate(listed)}
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        if name in order and target in order and order[target] > order[name]
    )


def test_every_module_imports_only_modules_listed_above_it_on_the_architecture_page():
    assert _upward(_graph(), _listed()) == []


def test_the_order_check_finds_an_import_of_a_module_listed_below():
    graph = {"llm_consortium.a": {"llm_consortium.b"}, "llm_consortium.b": set()}
    assert _upward(graph, ["a.py", "b.py"]) == ["llm_consortium.a imports llm_consortium.b"]
    assert _upward(graph, ["b.py", "a.py"]) == []


def _engine_side() -> list[str]:
    """The modules the page lists down to the last of `engine/`: the engine side."""
    listed = _listed()
    last = max(i for i, path in enumerate(listed) if path.startswith("engine/"))
    return listed[: last + 1]


def test_types_are_at_the_bottom_and_the_engine_side_knows_nothing_of_llm_click_yaml_or_pydantic():
    graph = _graph()
    assert graph["llm_consortium.errors"] == graph["llm_consortium.trace"] == set()
    assert graph["llm_consortium.settings_spec"] == set()
    assert graph["llm_consortium.types"] <= {
        "llm_consortium.errors", "llm_consortium.trace", "llm_consortium.settings_spec"
    }
    engine_side = _engine_side()
    assert {path.split("/")[0] for path in engine_side if "/" in path} == {
        "text", "calls", "judging", "structured", "engine"
    }
    for path in engine_side:
        tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
        imported = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in (n.names if isinstance(n, ast.Import) else [None])
        }
        assert not {m for m in imported if m.split(".")[0] in ("llm", "click", "yaml", "pydantic")}, path


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_importing_the_hooks_module_imports_nothing_heavy():
    code = (
        "import sys, llm_consortium; "
        "heavy = [m for m in ('llm_consortium.engine', 'llm_consortium.saved.config', 'llm_consortium.saved.store', "
        "'llm_consortium.adapter.models', 'pydantic', 'yaml') if m in sys.modules and m.startswith('llm_consortium')]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_registering_saved_consortiums_does_not_import_the_engine_side(user_path):
    """`llm` registers models on every command: with consortiums saved, that must
    read names and build the model classes, not import the engine, its policy or
    the types it runs on (that would cost every `llm` command several milliseconds)."""
    save("panel", ["alpha"])
    code = (
        "import sys, llm_consortium; "
        "llm_consortium.register_models(lambda *models, **kw: None); "
        "print(sorted(m for m in sys.modules if m.startswith('llm_consortium.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=subprocess_env(user_path)
    )
    loaded = set(ast.literal_eval(done.stdout.strip()))
    assert "llm_consortium.adapter.models" in loaded  # it did register
    heavy = {"engine", "engine.deliberation", "trace", "calls.policy", "types", "calls.gate", "adapter.participants", "judging.prompts", "judging.arbiter_reply.verdict"}
    assert not {f"llm_consortium.{name}" for name in heavy} & loaded


def test_the_architecture_page_lists_every_module_and_no_other():
    listed = set(_listed())
    modules = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or p.parent in (PACKAGE, PACKAGE / "cli")
    }
    assert sorted(modules - listed) == [], "modules the architecture page does not list"
    assert sorted(listed - modules) == [], "the architecture page lists modules that do not exist"


def test_every_exception_of_the_package_is_in_errors_under_consortium_error():
    """One hierarchy in one place: no module but `errors` defines an exception, and
    every one there is a ConsortiumError (a class that must also be llm's would say
    why it lives in the adapter, and derive from ConsortiumError too)."""
    import importlib
    import inspect

    import llm

    from llm_consortium import errors

    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        module = importlib.import_module(name)
        elsewhere += [
            f"{name}.{cls.__name__}"
            for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == name
            and name != "llm_consortium.errors"
            # llm's own: it derives from classes errors.py may not import
            and not (issubclass(cls, errors.ConsortiumError) and issubclass(cls, llm.ModelError))
        ]
    assert elsewhere == []
    outside = [
        cls.__name__ for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, BaseException) and not issubclass(cls, errors.ConsortiumError)
    ]
    assert outside == []

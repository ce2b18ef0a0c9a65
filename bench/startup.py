"""What the plugin costs every `llm` command: its import, and `llm models` listing.

Each figure is the best of several fresh processes (the minimum is the cost; the
rest is other load on the machine), timed inside the process so the ~1 s it takes
`llm` to import its OpenAI plugin does not drown the difference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

IMPORT_PROBE = """
import time, llm
started = time.perf_counter()
import llm_consortium
print((time.perf_counter() - started) * 1000)
"""

# What the plugin adds to an `llm` command that looks up a model: its import and both
# hooks, with `llm.cli` (and so PyYAML and pydantic) already loaded.
HOOKS_PROBE = """
import time, click, llm.cli
started = time.perf_counter()
import llm_consortium
llm_consortium.register_commands(click.Group())
llm_consortium.register_models(lambda *models, **kw: None)
print((time.perf_counter() - started) * 1000)
"""

LIST_PROBE = """
import contextlib, io, time, llm.cli
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    llm.cli.cli.main(["models"], standalone_mode=False)
print((time.perf_counter() - started) * 1000)
"""


def _best_ms(code: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def _env(user_dir: Path, plugins: str | None = None) -> dict[str, str]:
    env = {**os.environ, "LLM_USER_PATH": str(user_dir)}
    env.pop("OPENAI_API_KEY", None)
    if plugins is not None:
        env["LLM_LOAD_PLUGINS"] = plugins
    return env


def import_cost(runs: int) -> dict[str, float]:
    results = {}
    for count in (0, 1):
        user_dir = Path(tempfile.mkdtemp(prefix="llm-consortium-bench-"))
        try:
            _populate(user_dir, count)
            if count == 0:
                results["import llm_consortium after llm (plugins off)"] = _best_ms(
                    IMPORT_PROBE, _env(user_dir, ""), runs
                )
            results[f"import + both hooks, {count} consortiums saved"] = _best_ms(
                HOOKS_PROBE, _env(user_dir, ""), runs
            )
        finally:
            shutil.rmtree(user_dir, ignore_errors=True)
    return results


def _populate(user_dir: Path, count: int) -> None:
    code = (
        "import sys\n"
        "from llm_consortium.saved import store\n"
        "from llm_consortium.saved.config import ConsortiumConfig\n"
        "for i in range(int(sys.argv[1])):\n"
        "    store.save(ConsortiumConfig(name=f'c{i:04d}', models=[{'model_id': 'gpt-4o-mini'},"
        " {'model_id': 'claude-3.5-haiku', 'count': 2}], arbiter={'model_id': 'gpt-4o'}))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(count)], env=_env(user_dir), check=True)


def listing_cost(counts: tuple[int, ...], runs: int) -> dict[str, float]:
    """`llm models` in-process time (ms) by number of saved consortiums; the first
    listing after saving them (cold summary cache) is reported separately."""
    results: dict[str, float] = {}
    for count in counts:
        user_dir = Path(tempfile.mkdtemp(prefix="llm-consortium-bench-"))
        try:
            _populate(user_dir, count)
            env = _env(user_dir)
            if count:
                results[f"{count} consortiums, first listing (cold cache)"] = _best_ms(LIST_PROBE, env, 1)
            results[f"{count} consortiums"] = _best_ms(LIST_PROBE, env, runs)
        finally:
            shutil.rmtree(user_dir, ignore_errors=True)
    return results

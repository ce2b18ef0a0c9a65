"""The MCP soak, short: one `llm consortiums mcp` process through 60 consults with
injected faults from four concurrent callers (bench/soak_mcp.py, which runs 1,000 and
says what every check means). Every consult must end with the status its faults call
for, the server's threads and tasks must come back to their count after the warm-up,
its memory must not grow by 20 MB, its job table must stay bounded and its stderr
hold only the expected lines.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "soak_mcp.py"


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak_mcp", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.asyncio
async def test_a_short_soak_of_the_mcp_server_keeps_every_promise(user_path):
    soak = _soak_module()
    # Rate limits kept in the server's process: shared through the user's SQLite
    # file, the member that is always refused with 429 shrinks its limit group's
    # window, and a few consults meet "no free slot" (docs/performance.md; `python
    # bench/soak_mcp.py` without --not-shared shows it).
    report = await soak.soak(user_path, consults=60, callers=4, shared=False)
    assert report.problems == [], soak._summary(report)
    assert sum(sum(outcomes.values()) for outcomes in report.outcomes.values()) == 60
    assert {kind.name for kind in soak.KINDS} == set(report.outcomes)  # every fault was met

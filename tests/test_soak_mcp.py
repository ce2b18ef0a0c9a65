"""The MCP soak, short: one `llm consortiums mcp` process through 60 consults with
injected faults from four concurrent callers (bench/soak_mcp.py, which runs 1,000 and
says what every check means). Every consult must end with the status its faults call
for, the server's threads and tasks must come back to their count after the warm-up,
its memory must not grow by 20 MB, its job table must stay bounded and its stderr
hold only the expected lines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "soak_mcp.py"


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak_mcp", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.asyncio
async def test_a_short_soak_of_the_mcp_server_keeps_every_promise(user_path):
    soak = _soak_module()
    report = await soak.soak(user_path, consults=60, callers=4)
    assert report.problems == [], soak._summary(report)
    assert sum(sum(outcomes.values()) for outcomes in report.outcomes.values()) == 60
    assert {kind.name for kind in soak.KINDS} == set(report.outcomes)  # every fault was met

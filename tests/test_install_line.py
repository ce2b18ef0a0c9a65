"""The command that installs the MCP SDK can never install another project: PyPI's
`llm-consortium` is a different package, so no message or page may tell a user to
install that name without a path (`./llm-consortium[mcp]` is the checkout's extra)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from helpers import refused

ROOT = Path(__file__).resolve().parent.parent

# `install` followed by the bare package name (quoted or not, with or without an
# extra): pip and llm read that as "fetch llm-consortium from the index".
FROM_THE_INDEX = re.compile(r"install\s+(?:-\S+\s+)*['\"]?llm-consortium\b")


def test_without_the_sdk_the_command_names_the_sdk_itself(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert refused("mcp") == "Error: llm consortiums mcp needs the MCP SDK 2.x: llm install 'mcp>=2.3,<3'"


def test_no_page_or_message_installs_the_project_of_that_name_from_the_index():
    places = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "llm_consortium").rglob("*.py"))]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in places
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FROM_THE_INDEX.search(line)
    ]
    assert found == []
    assert "llm install './llm-consortium[mcp]'" in (ROOT / "docs" / "agents.md").read_text(encoding="utf-8")

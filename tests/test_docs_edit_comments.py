"""The pages that describe `edit` say where its problem comments go as the code puts
them: below the user's text, so the line numbers in the problem are the editor's."""

from __future__ import annotations

import re
from pathlib import Path

from llm_consortium.cli.edit import MARK, with_problem

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_code_writes_the_problem_below_the_text():
    shown = with_problem("name: x\nmodels: [\n", "not valid YAML (line 2)")
    assert shown.startswith("name: x\nmodels: [\n") and shown.splitlines()[2].startswith(MARK)


def test_every_page_that_places_the_comments_says_below():
    placed = {}
    for page in ("file-format.md", "managing.md"):
        text = " ".join((DOCS / page).read_text(encoding="utf-8").split())
        placed[page] = [s for s in re.split(r"(?<=[.;])\s", text) if "comment lines" in s and "problem" in s]
    assert all(placed.values()), placed
    for page, sentences in placed.items():
        for sentence in sentences:
            assert "below" in sentence and "top" not in sentence, (page, sentence)

"""The settings classes are typed for the checker: mypy rejects a misspelt setting, a
wrong keyword or a wrong type on the run `Settings`, the file's `ConsortiumConfig`
and the `-o` `ConsortiumOptions` (tests/typing/misspelt_settings.py marks each line
it must reject). cog writes their fields from the settings table (`make settings`;
`make test` checks them with `cog --check`, and test_settings_spec.py that each class
holds exactly the table's settings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSPELT = ROOT / "tests" / "typing" / "misspelt_settings.py"


def test_mypy_rejects_every_misspelt_setting_and_nothing_else():
    marked = {
        (number, match.group(1))
        for number, line in enumerate(MISSPELT.read_text(encoding="utf-8").splitlines(), 1)
        if (match := re.search(r"# error: ([a-z-]+)$", line))
    }
    assert len(marked) == 8
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes", str(MISSPELT.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    found = {
        (int(match.group(1)), match.group(2))
        for match in re.finditer(r"^tests/typing/misspelt_settings\.py:(\d+): error: .*\[([a-z-]+)\]$", done.stdout, re.M)
    }
    assert done.returncode == 1 and found == marked, done.stdout + done.stderr


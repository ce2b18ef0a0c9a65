"""The short versions of bench/soak_chat_eval.py: a real `llm chat` through one cycle
of faults, and an eval interrupted twice and resumed, each checked for honest
statuses, results neither lost nor counted twice, threads and asyncio tasks back to
their count, bounded memory and a stderr of expected lines only. The long versions
(200 turns, 500 items) and their figures are in docs/performance.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import subprocess_env

SOAK = Path(__file__).resolve().parent.parent / "bench" / "soak_chat_eval.py"


def soak(user_path: Path, *args: str) -> str:
    """The soak's report; it exits 1 naming each property that failed."""
    done = subprocess.run(
        [sys.executable, str(SOAK), *args], capture_output=True, text=True, timeout=300,
        env=subprocess_env(user_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_chat_session_meets_every_fault_and_stays_honest_and_clean(user_path):
    report = soak(user_path, "--only", "chat", "--turns", "9")
    assert "- turns: 9\n" in report
    assert "- turns with the wrong status: 0\n" in report
    assert "- stderr lines, expected: 7, 7\n" in report  # one per degraded turn, nothing else


def test_an_eval_interrupted_twice_and_resumed_loses_and_doubles_nothing(user_path):
    report = soak(user_path, "--only", "eval", "--items", "15")
    assert "- eval, part 3: results stored when it ended: 75\n" in report
    assert "- results stored, expected: 75, 75\n" in report

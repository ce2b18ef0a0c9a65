"""Time to the first word of the answer, streamed vs not, through the real `llm` CLI.

The arbiter streams its verdict-first reply in token-sized pieces at a fixed rate;
the members answer after a fixed delay. `llm -m panel "..."` runs as a subprocess (so
it does not share the server's GIL) and every byte it writes to stdout is timed. The
reference point is the moment the server sends the arbiter's first synthesis piece:
before it, nothing of the answer exists, so that is the best a consortium can do.

Figures (median of `repeat` runs, per mode):
- first word: stdout's first byte, relative to the arbiter's first synthesis piece;
- whole answer: stdout's last byte, relative to the arbiter's last piece;
- wall: the whole process, start to exit.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, reply, write_models_file

PIECE_CHARS = 4
SYNTHESIS = " ".join(["Streaming lets the first words of the answer reach you early."] * 6)
HEAD = (
    "<analysis>Both answers agree on the facts.</analysis>\n<dissent></dissent>\n"
    "<confidence>0.9</confidence>\n<needs_iteration>false</needs_iteration>\n"
    "<refinement_areas></refinement_areas>\n"
)
VERDICT = HEAD + f"<synthesis>\n{SYNTHESIS}\n</synthesis>"


def _llm() -> str:
    return str(Path(sys.executable).with_name("llm"))


class _Judge:
    """The arbiter's reply; remembers when the server started streaming it."""

    def __init__(self) -> None:
        self.started: list[float] = []

    def __call__(self, body: dict) -> str:
        self.started.append(time.monotonic())
        return VERDICT


def _piece_time(started: float, interval: float, offset: int) -> float:
    """When the server sent the piece holding character `offset` of the reply."""
    return started + (offset // PIECE_CHARS) * interval


def _one(env: dict[str, str], stream: bool) -> tuple[float, float, float, str]:
    """(first stdout byte, last stdout byte, exit) as monotonic times, and stdout."""
    command = [_llm(), "-m", "panel", "What helps?"]
    if not stream:
        command.append("--no-stream")
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = last = None
    out = b""
    assert process.stdout is not None
    while True:
        data = os.read(process.stdout.fileno(), 65536)
        if not data:
            break
        now = time.monotonic()
        first = first or now
        last = now
        out += data
    stderr = process.stderr.read() if process.stderr else b""
    process.wait()
    ended = time.monotonic()
    if process.returncode != 0 or first is None or last is None:
        raise RuntimeError(f"llm failed ({process.returncode}): {stderr.decode()!r}")
    return first - started, last - started, ended - started, out.decode()


def bench_stream(member_delay: float = 0.2, interval: float = 0.01, repeat: int = 3) -> list[dict[str, Any]]:
    """Rows for the README: first word and whole answer, streaming and --no-stream."""
    user_dir = Path(tempfile.mkdtemp(prefix="llm-consortium-bench-stream-"))
    env = {**os.environ, "LLM_USER_PATH": str(user_dir), "LLM_CONSORTIUM_PROGRESS": "0"}
    env.pop("OPENAI_API_KEY", None)
    synthesis_at = VERDICT.index("<synthesis>") + len("<synthesis>\n")
    rows = []
    try:
        with LoopbackServer() as server:
            write_models_file(user_dir, server.url, ["a", "b", "judge"])
            subprocess.run(
                [_llm(), "consortiums", "create", "panel", "-m", "a", "-m", "b", "--arbiter", "judge"],
                env=env, check=True, capture_output=True,
            )
            figures: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
            for number in range(repeat):
                for stream in (True, False) if number % 2 else (False, True):  # no order bias
                    judge = _Judge()
                    server.reset()
                    for name in ("a", "b"):
                        server.script(name, reply("An answer.", delay=member_delay))
                    server.script("judge", reply(judge, interval=interval, piece_chars=PIECE_CHARS))
                    launched = time.monotonic()
                    first, last, wall, out = _one(env, stream)
                    assert out.strip() == SYNTHESIS, out
                    (began,) = judge.started
                    first_piece = _piece_time(began, interval, synthesis_at) - launched
                    last_piece = _piece_time(began, interval, len(VERDICT) - 1) - launched
                    figures[stream].append((first - first_piece, last - last_piece, wall))
            for stream in (True, False):
                firsts, lasts, walls = zip(*figures[stream], strict=False)
                rows.append({
                    "mode": "streaming (default)" if stream else "--no-stream",
                    "first word, after the arbiter's first synthesis token (ms)": _ms(firsts),
                    "whole answer, after the arbiter's last token (ms)": _ms(lasts),
                    "wall (s)": f"{statistics.median(walls):.2f}",
                })
    finally:
        shutil.rmtree(user_dir, ignore_errors=True)
    return rows


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.0f}"


def arbiter_seconds(interval: float) -> float:
    """How long the arbiter takes to stream its whole reply at `interval` per piece."""
    return -(-len(VERDICT) // PIECE_CHARS) * interval


if __name__ == "__main__":
    for row in bench_stream():
        print(row)

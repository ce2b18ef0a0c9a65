"""A live status line on stderr while a consortium deliberates.

A run can take a minute; one updating line (round, members answered, the arbiter, the
confidence) shows it is alive without touching stdout, where only the answer goes. The
line is drawn only when stderr is a terminal, so pipes, CI logs and tests never see
control characters, and it is wiped before the answer is printed.

Warnings logged while the line is drawn (a failed arbiter, a skipped member) go
through it: the line is wiped, the warning printed on its own line, and the status
drawn again below it, instead of the warning being glued onto the status text. One
process draws one line: a consortium running inside another (as a member) leaves the
drawing to the outer one, whose line its warnings still go through.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from ..text.status_line import StatusLine, is_terminal, warnings_through
from ..text.words import plural, says_no
from ..types import Event

ENV_SWITCH = "LLM_CONSORTIUM_PROGRESS"

# The one line drawn in this process, if any (see status_line).
_active_lock = threading.Lock()
_active: RunStatusLine | None = None


def wanted(option: bool | None, stream: TextIO) -> bool:
    """Whether to draw: the per-call option wins over the environment switch, and
    nothing is ever drawn on a stream that is not a terminal."""
    if option is None:
        option = not says_no(os.environ.get(ENV_SWITCH, ""))
    return bool(option) and is_terminal(stream)


def describe(name: str, event: Event) -> str:
    """The status text for one event, without any control characters."""
    parts = [f"{name}: round {event.round}/{event.max_rounds}"]
    if event.kind in ("round_start", "member_done"):
        answered = event.members_done - event.members_failed
        failed = f", {event.members_failed} failed" if event.members_failed else ""
        parts.append(f"{answered} answered{failed} of {event.members_total}")
    elif event.kind == "review":
        parts.append(f"reviewing {event.members_done}/{event.reviewers}")
    elif event.kind == "arbiter_start":
        parts.append("arbiter …")
    elif event.kind == "round_done":
        confidence = "unknown" if event.confidence is None else f"{event.confidence:.2f}"
        parts.append(f"confidence {confidence}")
        parts.append("another round" if event.another_round else "done")
    if event.tool_calls:
        parts.append(f"tools: {plural(event.tool_calls, 'call')}")
    if event.rate_limited:
        parts.append("waiting for rate limit")
    return " · ".join(parts)


class RunStatusLine(StatusLine):
    """The shared status line, fed the run's events."""

    def __init__(self, name: str, stream: TextIO) -> None:
        super().__init__(stream)
        self.name = name

    def __call__(self, event: Event) -> None:
        self.draw(describe(self.name, event))

    def warn(self, message: str) -> None:
        """Print `message` on a line of its own above the status, which is redrawn."""
        self.above(message)


@contextlib.contextmanager
def asking_the_user() -> Iterator[None]:
    """Around a question on the terminal (llm's tool approval): the process's status
    line, if one is drawn, is wiped and stays wiped until the answer is given."""
    with _active_lock:
        line = _active
    if line is None:
        yield
        return
    with line.hold():
        yield


@contextlib.contextmanager
def status_line(
    name: str, option: bool | None, stream: TextIO | None = None
) -> Iterator[RunStatusLine | None]:
    """The progress callback for one run (None when nothing should be drawn); the
    line is cleared on the way out, also when the run fails."""
    global _active
    stream = stream if stream is not None else sys.stderr
    with _active_lock:
        drawing = _active is None and wanted(option, stream)
        line = RunStatusLine(name, stream) if drawing else None
        if line is not None:
            _active = line
    if line is None:  # not a terminal, switched off, or an outer run draws already
        yield None
        return
    try:
        with warnings_through(line.warn):
            yield line
    finally:
        with _active_lock:
            _active = None
        # OSError/ValueError: the terminal went away; nothing left to wipe
        with contextlib.suppress(OSError, ValueError):
            line.clear()

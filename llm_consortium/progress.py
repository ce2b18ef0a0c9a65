"""A live status line on stderr while a consortium deliberates.

A run can take a minute; one updating line (round, members answered, the arbiter, the
confidence) shows it is alive without touching stdout, where only the answer goes. The
line is drawn only when stderr is a terminal, so pipes, CI logs and tests never see
control characters, and it is wiped before the answer is printed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from .types import Event

ENV_SWITCH = "LLM_CONSORTIUM_PROGRESS"
_OFF_WORDS = {"0", "false", "no", "off"}
_CLEAR_TO_EOL = "\x1b[K"


def wanted(option: bool | None, stream: TextIO) -> bool:
    """Whether to draw: the per-call option wins over the environment switch, and
    nothing is ever drawn on a stream that is not a terminal."""
    if option is None:
        option = os.environ.get(ENV_SWITCH, "").strip().lower() not in _OFF_WORDS
    if not option:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def describe(name: str, event: Event) -> str:
    """The status text for one event, without any control characters."""
    parts = [f"{name}: round {event.round}/{event.max_rounds}"]
    if event.kind in ("round_start", "member_done"):
        answered = f"{event.members_done}/{event.members_total} members answered"
        if event.members_failed:
            answered += f" ({event.members_failed} failed)"
        parts.append(answered)
    elif event.kind == "arbiter_start":
        parts.append("arbiter …")
    elif event.kind == "round_done":
        confidence = "unknown" if event.confidence is None else f"{event.confidence:.2f}"
        parts.append(f"confidence {confidence}")
        parts.append("another round" if event.another_round else "done")
    return " · ".join(parts)


class StatusLine:
    """Redraws one line in place (carriage return, text, clear to end of line)."""

    def __init__(self, name: str, stream: TextIO) -> None:
        self.name = name
        self.stream = stream
        self.drawn = False
        self.finished = False

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        return columns if columns > 1 else 80

    def __call__(self, event: Event) -> None:
        if self.finished:
            return
        # One column short of the width: a line that wraps cannot be redrawn by \r.
        text = describe(self.name, event)[: self._width() - 1]
        self.stream.write(f"\r{text}{_CLEAR_TO_EOL}")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Wipe the line so the answer (or an error) starts on a clean line."""
        if self.drawn:
            self.stream.write(f"\r{_CLEAR_TO_EOL}")
            self.stream.flush()
            self.drawn = False

    # -- streaming hook (issue 13): the answer has started on stdout

    def finish(self) -> None:
        """Wipe the line for good: the answer is being printed, and a line redrawn
        on the same terminal would land in the middle of it."""
        self.clear()
        self.finished = True


@contextlib.contextmanager
def status_line(
    name: str, option: bool | None, stream: TextIO | None = None
) -> Iterator[StatusLine | None]:
    """The progress callback for one run (None when nothing should be drawn); the
    line is cleared on the way out, also when the run fails."""
    stream = stream if stream is not None else sys.stderr
    if not wanted(option, stream):
        yield None
        return
    line = StatusLine(name, stream)
    try:
        yield line
    finally:
        # OSError/ValueError: the terminal went away; nothing left to wipe
        with contextlib.suppress(OSError, ValueError):
            line.clear()

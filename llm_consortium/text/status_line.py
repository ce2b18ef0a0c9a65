"""One line of status on a terminal, redrawn in place: the run's progress and eval's
bar both draw through it, so the two cannot disagree on when to draw or how to wipe.

It draws only on a terminal (pipes, CI logs and tests never see control characters),
cuts its text one column short of the terminal's width (a line that wraps cannot be
redrawn by a carriage return), passes the text through `inert`, and is wiped before
anything else is printed on the same terminal. While the user is asked something on
that terminal (`held`), it stays wiped: the question must stay the last thing on the
screen until it is answered; the latest status is drawn after.

While a line is drawn, the package's warnings go through it (`warnings_through`):
printed on a line of their own above the status, never glued onto its text, and
not also by a root handler, which would print them over the line or twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from .terminal import inert

RETURN_AND_CLEAR = "\r\x1b[K"
_CLEAR_TO_EOL = "\x1b[K"
_DEFAULT_WIDTH = 80
PACKAGE_LOGGER = "llm_consortium"


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal; a closed or replaced stream is not."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width(stream: TextIO) -> int:
    """The terminal's width in columns, 80 when it cannot be told."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 1 else _DEFAULT_WIDTH


class StatusLine:
    """Draws one line in place (carriage return, text, clear to end of line).

    The caller decides whether to draw at all (see `is_terminal`). Threads may share
    a line: one writer at a time."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = False
        self.text = ""
        self.finished = False
        self.held = 0  # questions to the user under way
        self.lock = threading.RLock()

    def draw(self, text: str) -> None:
        """Show `text` in place of what the line showed; nothing once finished."""
        with self.lock:
            if self.finished:
                return
            self.text = inert(text).replace("\n", " ")[: width(self.stream) - 1]
            if self.held:
                return  # drawn when the question is answered
            self.stream.write(f"\r{self.text}{_CLEAR_TO_EOL}")
            self.stream.flush()
            self.drawn = True

    def clear(self) -> None:
        """Wipe the line so what comes next starts on a clean line."""
        with self.lock:
            if self.drawn:
                self.stream.write(RETURN_AND_CLEAR)
                self.stream.flush()
                self.drawn = False

    def above(self, message: str) -> None:
        """Print `message` on a line of its own above the status, which is redrawn."""
        with self.lock:
            self.clear()
            self.stream.write(inert(message) + "\n")
            if self.text and not self.finished and not self.held:
                self.stream.write(f"\r{self.text}{_CLEAR_TO_EOL}")
                self.drawn = True
            self.stream.flush()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Wipe the line and draw nothing while the user is asked something; the
        latest status is drawn again once the answer is in."""
        with self.lock:
            self.clear()
            self.held += 1
        try:
            yield
        finally:
            with self.lock:
                self.held -= 1
                if not self.held and self.text and not self.finished:
                    self.stream.write(f"\r{self.text}{_CLEAR_TO_EOL}")
                    self.stream.flush()
                    self.drawn = True

    def finish(self) -> None:
        """Wipe the line for good: something else now owns the terminal (the answer
        is being printed), and a line redrawn would land in the middle of it."""
        with self.lock:
            self.clear()
            self.finished = True


class _Through(logging.Handler):
    """Hands each of the package's warnings to `show`."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.show(record.getMessage())
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def warnings_through(show: Callable[[str], None]) -> Iterator[None]:
    """While it lasts, the package's warnings go to `show` (a line's `above`, say)
    and nowhere else: not also through a root handler."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    handler = _Through(show)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate

"""The eval's progress bar on stderr (items done, errors and tokens so far), and the
warnings of its runs, each naming the system and the item it is about.

Drawn through the same status line as a run's progress (text/status_line.py): only
when stderr is a terminal (pipes, CI logs and tests see nothing), one line redrawn
in place and wiped before the report is printed on stdout. A warning is printed on a
line of its own above the bar.

An eval runs many systems on many items at once, so a run's own warning ("round 1:
the arbiter failed ...") says nothing about which consortium and which item it came
from; the runner names each run in `RUNNING` (a context variable, so every task of
that run sees its own name) and `warnings_through` puts that name in front of the message.
"""

from __future__ import annotations

import contextlib
import sys
from contextvars import ContextVar
from typing import TextIO

from ..text import status_line
from ..text.status_line import StatusLine, is_terminal
from ..text.terminal import inert
from ..text.words import plural

WIDTH = 24

RUNNING: ContextVar[str | None] = ContextVar("eval_running", default=None)
"""Which run the current task belongs to: "consortium NAME, item on line N"."""


def describe(done: int, total: int, errors: int, tokens: int) -> str:
    """The bar's text, without control characters."""
    filled = WIDTH * done // total if total else WIDTH
    bar = "#" * filled + "-" * (WIDTH - filled)
    return f"[{bar}] {done}/{plural(total, 'item')} · {plural(errors, 'error')} · {tokens:,} tokens"


class Bar:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.line = StatusLine(self.stream) if is_terminal(self.stream) else None

    def __call__(self, done: int, errors: int, tokens: int) -> None:
        if self.line is not None:
            self.line.draw(describe(done, self.total, errors, tokens))

    def warn(self, message: str) -> None:
        """One warning line on stderr, above the bar when it is drawn."""
        if self.line is not None:
            self.line.above(message)
        else:
            self.stream.write(inert(message) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.line is not None:
            self.line.clear()


def named(message: str, who: str | None) -> str:
    """`Consortium: round 1: ...` from the run of `who` as `Eval, consortium smol,
    item on line 3: round 1: ...`; unchanged outside a named run."""
    if who is None:
        return message
    return f"Eval, {who}: {message.removeprefix('Consortium: ')}"


def warnings_through(bar: Bar) -> contextlib.AbstractContextManager[None]:
    """While the eval runs, the package's warnings go through the bar only, each
    naming its run (not also through a root handler, which would print them a second
    time, unnamed)."""
    return status_line.warnings_through(lambda message: bar.warn(named(message, RUNNING.get())))

"""The eval's progress bar on stderr: items done, errors and tokens so far.

Drawn through the same status line as a run's progress (text/status_line.py): only
when stderr is a terminal (pipes, CI logs and tests see nothing), one line redrawn
in place and wiped before the report is printed on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..text.status_line import StatusLine, is_terminal
from ..text.words import plural

WIDTH = 24


def describe(done: int, total: int, errors: int, tokens: int) -> str:
    """The bar's text, without control characters."""
    filled = WIDTH * done // total if total else WIDTH
    bar = "#" * filled + "-" * (WIDTH - filled)
    return f"[{bar}] {done}/{total} items · {plural(errors, 'error')} · {tokens:,} tokens"


class Bar:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        stream = stream if stream is not None else sys.stderr
        self.line = StatusLine(stream) if is_terminal(stream) else None

    def __call__(self, done: int, errors: int, tokens: int) -> None:
        if self.line is not None:
            self.line.draw(describe(done, self.total, errors, tokens))

    def close(self) -> None:
        if self.line is not None:
            self.line.clear()

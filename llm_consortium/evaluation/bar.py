"""The eval's progress bar on stderr: items done, errors and tokens so far.

Drawn only when stderr is a terminal (pipes, CI logs and tests see nothing), in one
line redrawn in place and wiped before the report is printed on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

_CLEAR = "\r\x1b[K"
WIDTH = 24


def describe(done: int, total: int, errors: int, tokens: int) -> str:
    """The bar's text, without control characters."""
    filled = WIDTH * done // total if total else WIDTH
    bar = "#" * filled + "-" * (WIDTH - filled)
    errors_text = f"{errors} error{'s' if errors != 1 else ''}"
    return f"[{bar}] {done}/{total} items · {errors_text} · {tokens:,} tokens"


class Bar:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False
        self.drawn = False

    def __call__(self, done: int, errors: int, tokens: int) -> None:
        if self.live:
            self.stream.write(_CLEAR + describe(done, self.total, errors, tokens))
            self.stream.flush()
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self.drawn = False

"""Rate-limit refusals that a provider's SDK retries by itself, seen as they happen.

The OpenAI and Anthropic SDKs (and others built the same way) retry a `429` twice by
themselves, waiting what `Retry-After` asks, before they raise. A refused call the
SDK then gets through looks like a plain success to the gate, and one it does not
reaches the gate seconds late: meanwhile the window stayed too big and every process
went on sending into the limit. That hidden traffic was most of the refusals a
batch of `llm` processes cost.

These SDKs send through httpx (or its successor httpx2), which logs every response it
receives, status included, at INFO. A filter on those loggers sees each `429` in the
thread or task that sent it, where `gate.current_slot` names the call's slot, and
tells the gate at once (`Slot.refused`; the gate learns once per call, so a call
refused three times is one refused call, not three). Records the user's logging would not have shown
are dropped by the same filter, so turning the loggers up to INFO shows nothing new.
A provider whose client logs nothing of the kind loses nothing: its refusal reaches
the gate when the call raises, through the failure policy.
"""

from __future__ import annotations

import logging
import threading

from ..calls.gate import Slot, current_slot

LOGGERS = ("httpx", "httpx2")  # the HTTP clients the providers' SDKs send through
REFUSED = 429

logger = logging.getLogger(__name__)
_installed = False
_lock = threading.Lock()


class _Watch(logging.Filter):
    """On one HTTP client's logger: report its 429 responses, and let through only
    what the logger would have passed before it was turned up to INFO: its own level
    when it had one (an application's `setLevel(WARNING)`), else its parent's."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger
        self.own_level = logger.level  # NOTSET: it followed its parent
        self.turned_up = logger.getEffectiveLevel() > logging.INFO  # by `watch_http_refusals`

    def filter(self, record: logging.LogRecord) -> bool:
        if _status(record) == REFUSED:
            slot = current_slot.get()
            if isinstance(slot, Slot):
                try:
                    slot.refused()
                except Exception:  # a filter that raises would fail the request itself
                    logger.debug("Consortium: a refusal could not be reported", exc_info=True)
        if not self.turned_up or self.logger.level != logging.INFO:
            return True  # the level is the user's (or was set since): show what it says
        return record.levelno >= self._threshold()

    def _threshold(self) -> int:
        if self.own_level != logging.NOTSET:
            return self.own_level
        parent = self.logger.parent
        return logging.NOTSET if parent is None else parent.getEffectiveLevel()


def _status(record: logging.LogRecord) -> int | None:
    """The status code of an httpx 'HTTP Request: METHOD URL "VERSION STATUS REASON"'
    record, else None."""
    args = record.args
    if record.msg != 'HTTP Request: %s %s "%s %d %s"' or not isinstance(args, tuple) or len(args) != 5:
        return None
    status = args[3]
    return status if isinstance(status, int) else None


def watch_http_refusals() -> None:
    """Install the filters (once per process)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        for name in LOGGERS:
            logger = logging.getLogger(name)
            watch = _Watch(logger)
            logger.addFilter(watch)
            if watch.turned_up:
                logger.setLevel(logging.INFO)

"""Refusals an SDK retries by itself, heard from its HTTP client's log as they happen
(`adapter/http_refusals.py`), without showing the user any log line they did not ask
for."""

from __future__ import annotations

import asyncio
import logging

import pytest

from llm_consortium.adapter.http_refusals import LOGGERS, watch_http_refusals
from llm_consortium.calls.gate import ModelGate, Slot, current_slot

HTTP_LINE = 'HTTP Request: %s %s "%s %d %s"'  # what httpx logs for every response


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.fixture
def root_handler():
    """The watch installed, and a handler on the root logger at any level, as
    `logging.basicConfig()` adds."""
    watch_http_refusals()
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def respond(status: int, reason: str) -> None:
    logging.getLogger("httpx").info(HTTP_LINE, "POST", "http://x/v1/chat/completions", "HTTP/1.1", status, reason)


def test_a_429_the_sdk_will_retry_teaches_the_gate_once_per_call(root_handler):

    async def scenario() -> tuple[int | None, int]:
        gate = ModelGate()
        slots = [await gate.acquire() for _ in range(6)]
        token = current_slot.set(slots[0])
        try:
            respond(200, "OK")
            respond(429, "Too Many Requests")
            respond(429, "Too Many Requests")  # the SDK's retry of the same call
        finally:
            current_slot.reset(token)
        limit = gate.limit
        for slot in slots:
            slot.release()
        return limit, slots[0].refusals

    limit, refusals = asyncio.run(scenario())
    assert (limit, refusals) == (3, 2)  # six in flight, one call refused: halved once
    assert root_handler.seen == []  # INFO the user's logging would not have shown


def test_the_users_own_httpx_level_is_respected(root_handler):
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the user asks to see requests
    respond(200, "OK")
    assert len(root_handler.seen) == 1 and "200 OK" in root_handler.seen[0]


def test_a_gate_that_cannot_take_the_news_never_fails_the_request(root_handler):
    class Broken:
        def rate_limited(self, slot):
            raise RuntimeError("the gate is broken")

    slot = Slot(Broken())  # type: ignore[arg-type]
    token = current_slot.set(slot)
    try:
        respond(429, "Too Many Requests")  # would raise into the HTTP client
    finally:
        current_slot.reset(token)
    assert slot.refusals == 1 and root_handler.seen == []


_APP_LOGGING = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
logging.getLogger("httpx").setLevel(logging.WARNING)  # the application's own choice
from llm_consortium.adapter.http_refusals import watch_http_refusals
watch_http_refusals()
httpx = logging.getLogger("httpx")
httpx.info('HTTP Request: %s %s "%s %d %s"', "POST", "http://x/v1", "HTTP/1.1", 200, "OK")
httpx.warning("a warning the application asked for")
logging.getLogger("app").info("the application's own line")
"""


def test_an_applications_own_httpx_level_still_holds_after_the_watch():
    """basicConfig(level=INFO) and httpx at WARNING: the watch turns httpx up to hear
    429s, yet the application's log shows exactly what it did before."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _APP_LOGGING], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["httpx a warning the application asked for", "app the application's own line"]

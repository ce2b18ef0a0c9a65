"""The failure policy of one participant call: what a failed call means (worth
retrying or not, how long the provider asked us to wait, a one-line description
that never carries an API key), and `call_with_policy`, which applies retries and
the timeout around any coroutine.

It must understand exceptions from any provider SDK without importing one: it reads
the attributes they share (`status_code`, `response.headers`) and the names of
their exception classes.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .types import Call, CallFn, Outcome

logger = logging.getLogger(__name__)

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0


def status_code(exc: BaseException) -> int | None:
    """The HTTP status a provider's exception carries, whatever the SDK."""
    for attr in ("status_code", "status", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: rate limits, server errors, dropped connections."""
    code = status_code(exc)
    if code is not None:
        return code == 429 or code >= 500
    names = {cls.__name__ for cls in type(exc).__mro__}
    transient_names = {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectionError",
        "TimeoutException",
        "ConnectError",
        "ReadTimeout",
        "RemoteProtocolError",
        "TimeoutError",
    }
    return bool(names & transient_names)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait, when its exception exposes the headers:
    `retry-after-ms`, then `retry-after` as seconds or as an HTTP date."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    if not hasattr(headers, "get"):
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except (TypeError, ValueError):
            seconds = _http_date_delay(value) if name == "retry-after" else None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _http_date_delay(value: Any) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return (when - datetime.datetime.now(datetime.UTC)).total_seconds()


def provider_retries(exc: BaseException) -> int | None:
    """How many times the provider's SDK already retried inside our attempt, when it
    says so (the OpenAI and Anthropic clients stamp `x-stainless-retry-count` on
    each request they send); None when unknown."""
    request = getattr(getattr(exc, "response", None), "request", None)
    if request is None:
        request = getattr(exc, "request", None)
    try:
        value = request.headers.get("x-stainless-retry-count")
        return int(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


_JITTER = random.Random()


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter for retry number `attempt` (1-based)."""
    return (rng or _JITTER).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def describe(exc: BaseException) -> str:
    """A one-line, key-free description of a failure."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return "timed out"
    text = redact(" ".join(str(exc).split())) or type(exc).__name__
    code = status_code(exc)
    if code is not None and str(code) not in text:
        text = f"HTTP {code}: {text}"
    return text[:300]


_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Note an API key in use, so no error text can carry it into a trace or message."""
    if isinstance(value, str) and len(value.strip()) >= 8 and not any(c.isspace() for c in value.strip()):
        _secrets.add(value.strip())


def redact(text: str) -> str:
    """`text` with every API key known to this process replaced by [redacted].

    Providers sometimes echo the key they were sent in an error body, and that body
    becomes the exception's message."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


class EmptyAnswer(Exception):
    """The model answered with nothing but whitespace."""


async def call_with_policy(
    fn: CallFn,
    call: Call,
    *,
    timeout: float,
    retries: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Call `fn` with retries for transient errors, all within `timeout` seconds.

    Retries a provider's SDK already made inside an attempt (when it reports them)
    count against `retries`, so the two layers do not multiply the requests sent.

    Never raises for a model failure: the failure is the Outcome's `error`, so one
    member's problem cannot sink the round. Cancellation still propagates.
    """
    outcome = Outcome()
    started = time.monotonic()

    async def attempts() -> None:
        requests = 0  # sent so far, counting the retries a provider SDK made itself
        number = 0
        while True:
            number += 1
            began = time.monotonic()
            try:
                reply = await fn(call)
                if not reply.text or not reply.text.strip():
                    raise EmptyAnswer("empty answer")
                outcome.reply = reply
                outcome.error = None
                outcome.attempts.append({"ok": True, "duration_ms": _ms(began)})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome.error = describe(exc)
                attempt: dict[str, Any] = {
                    "ok": False, "error": outcome.error, "duration_ms": _ms(began)
                }
                outcome.attempts.append(attempt)
                inner = provider_retries(exc) or 0
                if inner:
                    attempt["provider_retries"] = inner
                requests += 1 + inner
                if requests > retries or not is_transient(exc):
                    return
                asked = retry_after(exc)
                wait = backoff(number) if asked is None else asked
                left = timeout - (time.monotonic() - started)
                if wait >= left:
                    # Sleeping would only end in our own timeout and hide the real error.
                    outcome.error += f" (not retried: a {wait:.3g}s wait would pass the {timeout:g}s timeout)"
                    attempt["error"] = outcome.error
                    return
                attempt["retry_in"] = round(wait, 3)
                logger.info("retrying in %.2fs: %s", wait, outcome.error)
                await sleep(wait)

    try:
        await asyncio.wait_for(attempts(), timeout)
    except TimeoutError:
        outcome.reply = None
        outcome.error = f"timed out after {timeout:g}s"
        outcome.attempts.append({"ok": False, "error": outcome.error, "duration_ms": _ms(started)})
    outcome.duration_ms = _ms(started)
    return outcome


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)

"""What a failed call means: worth retrying or not, how long the provider asked us
to wait, and a one-line description of it that never carries an API key.

Kept apart from the calling code because it must understand exceptions from any
provider SDK without importing one: it reads the attributes they share
(`status_code`, `response.headers`) and the names of their exception classes.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import random
from typing import Any, Optional

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0


def status_code(exc: BaseException) -> Optional[int]:
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


def retry_after(exc: BaseException) -> Optional[float]:
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


def _http_date_delay(value: Any) -> Optional[float]:
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def provider_retries(exc: BaseException) -> Optional[int]:
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


def backoff(attempt: int, rng: random.Random = random.Random()) -> float:
    """Exponential backoff with full jitter for retry number `attempt` (1-based)."""
    return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


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


def remember_secret(value: Optional[str]) -> None:
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

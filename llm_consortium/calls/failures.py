"""What a failed call means, for any provider: its status, whether another attempt
is worth it, whether the provider asked us to wait (and how long), whether the
account's quota is spent, and a one-line description that never carries an API key.

It must understand exceptions from any provider SDK without importing one: it reads
the attributes they share (`status_code`, `response.headers`) and the names of
their exception classes. Plugins that wrap their provider's error in a plain
`llm.ModelError` carry only its message ("429 RESOURCE_EXHAUSTED ... Please retry in
37s", "503 UNAVAILABLE"): without a status attribute, the status and the wait are
read from the message.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import re
from typing import Any


def status_code(exc: BaseException) -> int | None:
    """The HTTP status a provider's exception carries, whatever the SDK."""
    for attr in ("status_code", "status", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


# What plugins that raise a plain message say for a rate limit, and for a server that
# is down or overloaded (gRPC's names as Google's APIs spell them, HTTP's phrases).
_RATE_LIMIT_MESSAGE = re.compile(
    r"\b429\b|RESOURCE_EXHAUSTED|too many requests|rate[ _-]?limit|\bquota\b", re.IGNORECASE
)
_UNAVAILABLE_MESSAGE = re.compile(
    r"\b50[0234]\b|\bUNAVAILABLE\b|overloaded|internal server error|bad gateway|gateway timeout",
    re.IGNORECASE,
)


def _is_model_error(exc: BaseException) -> bool:
    """An `llm.ModelError` (told by name: this layer imports no llm), the error a
    plugin raises to report its provider's answer; any other exception's message
    (a local engine's ValueError) is no provider's status."""
    return any(cls.__name__ == "ModelError" for cls in type(exc).__mro__)


def status_of(exc: BaseException) -> int | None:
    """The status to act on: the one the exception carries, else 429 or 503 when
    a plugin's plain `llm.ModelError` says so in its message, else None."""
    code = status_code(exc)
    if code is not None or not _is_model_error(exc):
        return code
    text = str(exc)
    if _RATE_LIMIT_MESSAGE.search(text):
        return 429
    if _UNAVAILABLE_MESSAGE.search(text):
        return 503
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: rate limits, server errors, dropped connections."""
    code = status_of(exc)
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
    if headers is None or not hasattr(headers, "get"):
        return _delay_in_message(exc) if status_code(exc) is None and _is_model_error(exc) else None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) * scale
        except (TypeError, ValueError):
            seconds = _http_date_delay(value) if name == "retry-after" else None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    return None


# "Please retry in 37.5s", "retry after 2 seconds", a RetryInfo's "retryDelay": "37s".
_DELAY_MESSAGE = re.compile(
    r"(?:retry (?:in|after)|retryDelay[\"']?\s*[:=])\s*[\"']?(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?)?\b",
    re.IGNORECASE,
)


def _delay_in_message(exc: BaseException) -> float | None:
    """The wait a plain error message asks for, in seconds, if it names one."""
    found = _DELAY_MESSAGE.search(str(exc))
    if found is None:
        return None
    seconds = float(found.group(1)) * (0.001 if (found.group(2) or "").lower() == "ms" else 1.0)
    return seconds if math.isfinite(seconds) else None


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
    if request is None:
        return None
    try:
        value = request.headers.get("x-stainless-retry-count")
        return int(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


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


#: Error codes/types providers use for a spent quota or unpaid bill: not a wait.
QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"}
)
_QUOTA_WORDS = re.compile(
    r"insufficient[_ ]quota|billing|credit balance|out of credits|daily (?:limit|quota|cap)"
    r"|per day|quota (?:is )?(?:exhausted|exceeded)",
    re.IGNORECASE,
)


def _error_fields(exc: BaseException) -> set[str]:
    """The `code` and `type` a provider's error carries (as attributes or in its
    JSON body), lower-cased."""
    found = set()
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        body = body.get("error", body)
    for source in (exc, body):
        for name in ("code", "type"):
            value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
            if isinstance(value, str):
                found.add(value.lower())
    return found


def is_quota_exhausted(exc: BaseException) -> bool:
    """A 429 that no wait will cure: the account's quota or credit is spent.

    Said by the error code (`insufficient_quota` and the like), or by a message about
    billing or a daily cap that asks for no particular wait (a per-minute limit that
    speaks of "quota" sends a Retry-After)."""
    if status_of(exc) != 429:
        return False
    if _error_fields(exc) & QUOTA_CODES:
        return True
    return bool(_QUOTA_WORDS.search(str(exc))) and retry_after(exc) is None


def is_rate_limited(exc: BaseException) -> bool:
    """The provider asked us to slow down: a 429 (not a spent quota), or a 503 that
    says when to come back."""
    code = status_of(exc)
    if code == 429:
        return not is_quota_exhausted(exc)
    return code == 503 and retry_after(exc) is not None

"""The failure policy of one participant call: `call_with_policy` applies retries,
rate-limit waits and the timeout around any coroutine, acting on what failures.py
says a failure means.

Words: a *request* is one HTTP request to the provider (its SDK may send several
inside one attempt and say so); an *attempt* is one call of the participant's
coroutine under this policy. A trace's `requests` counts the first, `attempts`
lists the second.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..errors import EmptyAnswer
from ..types import Call, CallFn, Gate, GateSlot, Outcome, Participant
from .failures import (
    describe,
    is_quota_exhausted,
    is_rate_limited,
    is_transient,
    provider_retries,
    retry_after,
)
from .gate import current_slot

__all__ = ["call_with_policy", "describe", "rate_limit_delay"]

logger = logging.getLogger(__name__)

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0
RATE_LIMIT_JITTER = 0.1  # the least spread added to a Retry-After

_JITTER = random.Random()


def backoff(retry: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter before retry number `retry` (1-based)."""
    return (rng or _JITTER).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (retry - 1)))


def rate_limit_delay(waits: int, asked: float | None, rng: random.Random) -> float:
    """How long to wait after the `waits`-th refusal (1-based): what the provider
    asked for plus full jitter of up to as much again (at least RATE_LIMIT_JITTER),
    so clients refused together do not all come back at the same instant; full-jitter
    backoff when it asked for nothing."""
    jitter = backoff(waits, rng)
    return jitter if asked is None else asked + min(jitter, max(asked, RATE_LIMIT_JITTER))


async def call_with_policy(
    target: Participant | CallFn,
    call: Call,
    *,
    timeout: float,
    retries: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    on_wait: Callable[[bool], None] | None = None,
) -> Outcome:
    """Call a participant (or a bare coroutine function) under the failure policy.

    - `timeout` bounds everything from the start of the first attempt: attempts,
      waits between them, and waits for the model's gate after the first. The wait
      for the gate before the first attempt is bounded by a `timeout` of its own
      (a slot held by a hung call, a lease a lost process left in the shared file):
      past it the call fails, saying it never got a slot.
    - A rate limit (429, or 503 with Retry-After) is a wait, not a failure: the call
      waits as asked (plus jitter) and tries again for as long as `timeout` allows,
      and the model's gate lowers how many calls may be in flight. `on_wait(True)`
      and `on_wait(False)` bracket each such wait (for the progress line).
    - A spent quota fails at once; other errors fail at once unless transient.
    - `retries` is the budget of extra requests for transient errors (5xx, dropped
      connections), counting the retries a provider's SDK reports having made.

    Never raises for a model failure (that is the Outcome's `error`, so one member
    cannot sink the round). Cancellation still propagates.
    """
    if isinstance(target, Participant):
        fn, gate = target.call, target.gate
    else:
        fn, gate = target, None
    rng = rng or _JITTER
    outcome = Outcome()
    try:
        slot = await asyncio.wait_for(_acquire(gate, outcome), timeout)
    except TimeoutError:
        outcome.queued_ms = round(timeout * 1000)
        outcome.error = (
            f"no free slot on its model within the {timeout:g}s timeout (other calls to it "
            "held every one: its max_concurrent, or the provider's limit shared with other processes)"
        )
        return outcome
    started = time.monotonic()
    state = _State(slot)

    async def attempts() -> None:
        errors = 0  # requests spent on transient errors, against `retries`
        while True:
            if state.slot is None and gate is not None:
                state.slot = await _acquire(gate, outcome)
            failure = await _attempt(fn, call, gate, state, outcome)
            if failure is None:
                return
            inner = provider_retries(failure) or 0
            attempt = outcome.attempts[-1]
            if is_quota_exhausted(failure):
                _give_up(outcome, attempt, "quota exhausted: not retried")
                return
            left = timeout - (time.monotonic() - started)
            if is_rate_limited(failure):
                outcome.rate_limit_waits += 1 + inner
                outcome.rate_limit_wait_ms += attempt["duration_ms"]  # incl. the SDK's own waits
                state.refusals += 1
                asked = retry_after(failure)
                wait = rate_limit_delay(state.refusals, asked, rng)
                if wait >= left:  # jitter must not push a wait the timeout allows past it
                    wait = asked if asked is not None else left / 2
                    if asked is None and wait < RATE_LIMIT_JITTER:
                        wait = left  # too little time left to be worth another attempt
                if wait >= left:
                    _give_up(outcome, attempt, (
                        f"gave up waiting for the rate limit: a {wait:.3g}s wait would pass "
                        f"the {timeout:g}s timeout"
                    ))
                    return
                attempt["rate_limited"] = True
                attempt["retry_in"] = round(wait, 3)
                await _wait(sleep, wait, on_wait)
                outcome.rate_limit_wait_ms += round(wait * 1000)
                continue
            errors += 1 + inner
            if errors > retries or not is_transient(failure):
                return
            asked = retry_after(failure)
            wait = backoff(errors, rng) if asked is None else asked
            if wait >= left:
                # Sleeping would only end in our own timeout and hide the real error.
                _give_up(outcome, attempt, f"not retried: a {wait:.3g}s wait would pass the {timeout:g}s timeout")
                return
            attempt["retry_in"] = round(wait, 3)
            logger.info("retrying in %.2fs: %s", wait, outcome.error)
            await sleep(wait)

    try:
        await asyncio.wait_for(attempts(), timeout)
    except TimeoutError:
        outcome.reply = None
        outcome.error = f"timed out after {timeout:g}s"
        cut: dict[str, Any] = {"ok": False, "error": outcome.error, "duration_ms": _ms(started)}
        if state.attempting:  # an attempt in flight, which the provider may bill
            outcome.requests += 1
            cut["duration_ms"] = _ms(state.began)
            cut["cut_short"] = True
            if state.abandoned:
                cut["abandoned"] = True
        outcome.attempts.append(cut)
    outcome.duration_ms = _ms(started)
    if gate is not None and gate.lowest is not None:
        outcome.concurrency_limit = gate.limit
    return outcome


@dataclass
class _State:
    """Where a call under the policy is: the slot it holds, whether an attempt is in
    flight (the one a timeout cuts short), how often it was refused."""

    slot: GateSlot | None
    attempting: bool = False
    abandoned: bool = False
    began: float = 0.0
    refusals: int = 0


async def _acquire(gate: Gate | None, outcome: Outcome) -> GateSlot | None:
    slot = None if gate is None else await gate.acquire()
    outcome.queued_ms += 0 if slot is None else round(slot.waited * 1000)
    return slot


async def _attempt(
    fn: CallFn, call: Call, gate: Gate | None, state: _State, outcome: Outcome
) -> BaseException | None:
    """One attempt, recorded in `outcome`: the exception it ended in, or None when
    it answered. The slot is released after it (or left to the thread still running
    the call, when the bridge detached it), and the gate learns what happened."""
    slot, state.slot = state.slot, None
    token = current_slot.set(slot)
    state.attempting, state.began = True, time.monotonic()
    try:
        reply = await fn(call)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        failure: BaseException | None = exc
        if gate is not None and is_rate_limited(exc):
            gate.rate_limited(slot)
    else:
        failure = None
        if gate is not None:
            gate.succeeded(slot)
        if not reply.text or not reply.text.strip():
            failure = EmptyAnswer("empty answer")
    finally:
        current_slot.reset(token)
        if slot is not None:
            if slot.detached:
                state.abandoned = True
                outcome.abandoned += 1
            else:
                slot.release()
    state.attempting = False
    duration = _ms(state.began)
    if failure is None:
        outcome.reply, outcome.error = reply, None
        refused = slot.refusals if slot is not None else 0  # 429s its SDK retried by itself
        outcome.requests += 1 + refused
        done: dict[str, Any] = {"ok": True, "duration_ms": duration}
        if refused:
            done["provider_retries"] = refused
        outcome.attempts.append(done)
        return None
    outcome.error = describe(failure)
    attempt: dict[str, Any] = {"ok": False, "error": outcome.error, "duration_ms": duration}
    inner = provider_retries(failure) or 0
    if inner:
        attempt["provider_retries"] = inner
    outcome.requests += 1 + inner
    outcome.attempts.append(attempt)
    return failure


def _give_up(outcome: Outcome, attempt: dict[str, Any], why: str) -> None:
    """Say on the call's error, and on its last attempt's, why no attempt follows."""
    outcome.error = f"{outcome.error or 'failed'} ({why})"
    attempt["error"] = outcome.error


async def _wait(sleep: Callable[[float], Awaitable[None]], seconds: float, on_wait: Any) -> None:
    _notify(on_wait, True)
    try:
        await sleep(seconds)
    finally:
        _notify(on_wait, False)


def _notify(on_wait: Callable[[bool], None] | None, waiting: bool) -> None:
    try:
        if on_wait is not None:
            on_wait(waiting)
    except Exception:  # a broken progress display must not break the call
        logger.debug("on_wait callback failed", exc_info=True)


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)

"""How many calls may be in flight to one model in this process.

A provider (or a local engine) has a capacity the plugin cannot see: a free tier
allows two requests at once, a gateway a few dozen, a local model one. Sending more
only buys `429 Too Many Requests` and wasted retries. Each model gets one `ModelGate`
per process, shared by every run in it (an async app's concurrent calls, `compare`,
`eval --parallel`), holding two limits:

- a fixed cap, `max_concurrent` (None = unlimited), which the user sets for models
  that cannot take more (a local engine with one handle). It belongs to the
  configuration that set it, not to the model: each call carries its own
  configuration's cap (`CappedGate`), and starts only while fewer calls than that cap
  are in flight to the model, whoever made them. So two consortiums with different
  caps on one model each keep their promise, and raising a cap in the YAML takes
  effect on the next run of a long-lived process (`llm chat`, a web app);
- an adaptive limit, AIMD as TCP does: a rate-limited call halves what may be in
  flight (at least 1); successes while the limit was reached let it grow again by
  one per limit's worth of them (one per round trip), up to the cap. A batch
  settles at the provider's real capacity instead of hammering it.

Across processes, the calls in flight and the learned limit are shared through a small
file in the llm user directory (`shared_limits`), when the adapter turns that on
(`share_limits`): a call then also holds a lease there, and refusals and successes
teach every process's limit at once. Any trouble with that file turns sharing off
for the process, with one warning: the per-process gate goes on alone.

The gate is used from several event loops (the sync path's loop, a user's own loop,
eval's loop) and from threads, so it holds its state under a `threading.Lock` and
wakes each waiter on the waiter's own loop; no loop-bound asyncio primitive is
shared across loops.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..types import GateSlot
from .shared_limits import FILE_NAME, Lease, SharedLimits, SharedStateError

logger = logging.getLogger(__name__)


class Slot:
    """One call's permission to run on a model. `release()` is idempotent and
    thread-safe.

    `detached` is set by the thread bridge when the awaiting task gave up (timeout,
    cancel) while the blocking call still runs; the thread then releases the slot
    itself when the call really ends, so no new call overlaps it.
    """

    __slots__ = ("_epoch", "_gate", "_released", "detached", "lease", "waited")

    def __init__(self, gate: ModelGate | None, epoch: int = 0, waited: float = 0.0) -> None:
        self._gate = gate
        self._epoch = epoch
        self._released = False
        self.detached = False
        self.waited = waited  # seconds spent waiting for the gate
        self.lease: Lease | None = None  # the call's row in the shared state, when shared

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        gate = self._gate
        if gate is None:
            self._released = True
            return
        lease, self.lease = self.lease, None
        if lease is not None:
            _shared_call(lambda shared: shared.release(lease))
        gate._release(self)


class _Waiter:
    __slots__ = ("cap", "future", "loop", "slot")

    def __init__(self, loop: asyncio.AbstractEventLoop, cap: int | None) -> None:
        self.loop = loop
        self.cap = cap
        self.future: asyncio.Future[None] = loop.create_future()
        self.slot: Slot | None = None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ModelGate:
    """Per-model concurrency in one process: a fixed cap and an AIMD limit.

    `limit` is what may be in flight now (None = unlimited), `lowest` the lowest
    the limit went in this process (None = never lowered), `in_flight` the slots
    held now. Waiters are served first come, first served.
    """

    def __init__(self, max_concurrent: int | None = None, key: str | None = None) -> None:
        _check_cap(max_concurrent)
        self.key = key  # the model's id, naming its shared state (None: never shared)
        self._shared_limit: int | None = None  # the shared limit, as last read
        self._lock = threading.Lock()
        self._queue: collections.deque[_Waiter] = collections.deque()
        self.cap: int | None = max_concurrent  # for calls that bring no cap of their own
        self._adaptive: int | None = None  # None until the first rate limit
        self.lowest: int | None = None
        self.in_flight = 0
        self._epoch = 0  # bumped on every decrease
        self._successes = 0  # toward the next growth
        self._window = 0  # what was in flight at the last decrease
        self._refused = 0  # refusals since, of calls started before it

    @property
    def limit(self) -> int | None:
        with self._lock:
            return self._limit()

    def limit_for(self, cap: int | None) -> int | None:
        """What may be in flight for a call under `cap`: the smaller of it and the
        adaptive limit (None = unlimited)."""
        with self._lock:
            return self._limit(cap)

    def _limit(self, cap: int | None = None) -> int | None:
        cap = self.cap if cap is None else cap
        adaptive = self._adaptive
        if self._shared() is not None:
            adaptive = self._shared_limit  # the leases enforce it; here it is reported
        if adaptive is None:
            return cap
        if cap is None:
            return adaptive
        return min(cap, adaptive)

    def _shared(self) -> SharedLimits | None:
        return _sharing if self.key is not None else None

    def _has_room(self, cap: int | None = None) -> bool:
        if self._shared() is not None:  # the shared leases hold the learned limit
            cap = self.cap if cap is None else cap
            return cap is None or self.in_flight < cap
        limit = self._limit(cap)
        return limit is None or self.in_flight < limit

    def _grant(self, waited: float) -> Slot:
        self.in_flight += 1
        return Slot(self, self._epoch, waited)

    async def acquire(self, cap: int | None = None) -> Slot:
        """Wait for room under `cap` (None: the gate's own cap) and take a slot;
        `Slot.waited` says how long it took."""
        _check_cap(cap)
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        with self._lock:
            granted = self._grant(0.0) if not self._queue and self._has_room(cap) else None
            if granted is None:
                waiter = _Waiter(loop, cap)
                self._queue.append(waiter)
        if granted is not None:
            return await self._leased(granted, started)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                slot = waiter.slot
                if slot is None and waiter in self._queue:
                    self._queue.remove(waiter)
            if slot is not None:  # granted as we were cancelled: give it back
                slot.release()
            raise
        assert waiter.slot is not None
        waiter.slot.waited = time.monotonic() - started
        return await self._leased(waiter.slot, started)

    async def _leased(self, slot: Slot, started: float) -> Slot:
        """`slot`, with a lease in the shared state when limits are shared: waits
        (polling, with jitter) while the model's leases fill its shared limit."""
        if self._shared() is None:
            return slot
        pause = 0.01
        key = self.key
        assert key is not None

        def take(shared: SharedLimits) -> Lease | None:
            return shared.try_lease(key)

        try:
            while True:
                lease = await asyncio.to_thread(_shared_call, take, _GAVE_UP)
                if lease is not None:  # a lease, or sharing is off now: go
                    slot.lease = lease if isinstance(lease, Lease) else None
                    slot.waited = time.monotonic() - started
                    return slot
                await asyncio.sleep(pause * (0.5 + random.random()))
                pause = min(pause * 2, 0.2)
        except BaseException:
            slot.release()
            raise

    def rate_limited(self, slot: Slot | None = None) -> None:
        """The provider refused a call for rate: halve what may be in flight (at
        least 1). Given the refused call's `slot`, a refusal of a call that started
        before the last decrease does not halve again (one burst of refusals halves
        the limit once, as TCP reacts once per window); it only says the provider
        held one call fewer than were in flight then, so the limit never stays above
        what was in flight minus what was refused."""
        if self._shared() is not None and self.key is not None:
            key = self.key
            lease = slot.lease if slot is not None else None
            known = _shared_call(lambda shared: shared.rate_limited(lease, key))
            if isinstance(known, tuple):
                with self._lock:
                    self._shared_limit, self.lowest = known
                return
        with self._lock:
            if slot is not None and slot._epoch < self._epoch:
                self._refused += 1
                self._adaptive = max(1, min(self._adaptive or 1, self._window - self._refused))
            else:
                current = self._limit()
                base = self.in_flight if current is None else min(current, max(self.in_flight, 1))
                self._window, self._refused = base, 1
                self._adaptive = max(1, min(math.ceil(base / 2), base - 1))
                self._successes = 0
                self._epoch += 1
            limit = self._limit()
            if limit is not None and (self.lowest is None or limit < self.lowest):
                self.lowest = limit

    def succeeded(self) -> None:
        """A call succeeded (call before releasing its slot). When the limit was
        what held calls back, it grows by one for each limit's worth of successes:
        one per round trip, as TCP's congestion avoidance does. (Growing by one per
        success overshoots: a refusal is learnt only after the provider's SDK has
        retried it, and meanwhile every success would raise the limit.)"""
        if self._shared() is not None and self.key is not None:
            key = self.key
            _shared_call(lambda shared: shared.succeeded(key))
            if self._shared() is not None:
                return
        with self._lock:
            if self._adaptive is None:
                return
            if self.in_flight >= self._adaptive:
                self._successes += 1
                if self._successes < self._adaptive:
                    return
                self._successes = 0
                self._adaptive += 1
            self._dispatch()

    def _release(self, slot: Slot) -> None:
        with self._lock:
            if slot._released:
                return
            slot._released = True
            self.in_flight -= 1
            self._dispatch()

    def _dispatch(self) -> None:
        """Hand free room to waiters, in order; a waiter whose cap is full does not
        hold back one whose cap has room (call with the lock held)."""
        for waiter in list(self._queue):
            if waiter.future.cancelled():
                self._queue.remove(waiter)
                continue
            if not self._has_room(waiter.cap):
                continue
            self._queue.remove(waiter)
            slot = self._grant(0.0)
            waiter.slot = slot
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # that waiter's loop is closed: nobody is waiting
                waiter.slot = None
                slot._released = True
                self.in_flight -= 1


_gates: dict[str, ModelGate] = {}
_gates_lock = threading.Lock()


def _check_cap(cap: int | None) -> None:
    if cap is not None and cap < 1:
        raise ValueError("max_concurrent must be at least 1")


class CappedGate:
    """A model's process-wide gate as one configuration uses it: every call through
    it waits until fewer than `cap` calls (None: no cap) are in flight to the model,
    and within the adaptive limit the model's calls share."""

    def __init__(self, gate: ModelGate, cap: int | None) -> None:
        _check_cap(cap)
        self.gate = gate
        self.cap = cap

    async def acquire(self) -> Slot:
        return await self.gate.acquire(self.cap)

    @property
    def limit(self) -> int | None:
        return self.gate.limit_for(self.cap)

    @property
    def lowest(self) -> int | None:
        return self.gate.lowest

    def rate_limited(self, slot: GateSlot | None = None) -> None:
        self.gate.rate_limited(slot if isinstance(slot, Slot) else None)

    def succeeded(self) -> None:
        self.gate.succeeded()


def gate_for(key: str, max_concurrent: int | None = None) -> CappedGate:
    """Model `key`'s process-wide gate (shared by every run in the process, so its
    calls in flight and its learned limit are the model's), as a configuration with
    cap `max_concurrent` uses it."""
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = ModelGate(key=key)
    return CappedGate(gate, max_concurrent)


_sharing: SharedLimits | None = None
_sharing_lock = threading.Lock()
_GAVE_UP = object()  # what a shared operation returns once sharing is off


def share_limits(folder: Path | None) -> None:
    """Share every model's calls in flight and learned limit with the user's other
    processes, through a file in `folder` (None: this process alone)."""
    global _sharing
    with _sharing_lock:
        if folder is None:
            _sharing = None
        elif _sharing is None or _sharing.path.parent != folder:
            _sharing = SharedLimits(folder / FILE_NAME)


def _shared_call(work: Callable[[SharedLimits], Any], failed: Any = None) -> Any:
    """`work(shared)` on the shared state; on any trouble with it, sharing is turned
    off for this process with one warning, and `failed` is returned."""
    global _sharing
    shared = _sharing
    if shared is None:
        return failed
    try:
        return work(shared)
    except SharedStateError as ex:
        with _sharing_lock:
            if _sharing is shared:
                _sharing = None
                logger.warning(
                    "Consortium: rate limits are learned in this process alone: the shared state cannot be used (%s)",
                    ex,
                )
        return failed


def reset_gates() -> None:
    """Forget every gate (tests, or a process that wants to start afresh)."""
    with _gates_lock:
        _gates.clear()


def _after_fork() -> None:
    """A forked child has none of its parent's calls in flight (their threads stayed
    behind), and must not reuse the parent's SQLite connections: it starts afresh."""
    global _sharing, _gates_lock, _sharing_lock
    _gates_lock, _sharing_lock = threading.Lock(), threading.Lock()
    _gates.clear()
    if _sharing is not None:
        _sharing = SharedLimits(_sharing.path)


os.register_at_fork(after_in_child=_after_fork)


current_slot: contextvars.ContextVar[GateSlot | None] = contextvars.ContextVar(
    "llm_consortium_current_slot", default=None
)

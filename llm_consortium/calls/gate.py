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
- a learned window (`window.Window`): slow start for a model never refused, then
  what the provider's refusals taught, grown back toward what it took. A batch
  settles at the provider's real capacity instead of hammering it.

Across processes, the calls in flight and the window are shared through a small file
in the llm user directory (`shared_limits`), when the adapter turns that on
(`leases.share_limits`): a call then also holds a lease there, and refusals and
successes teach every process's window at once. Every use of that file runs in the
process's one SQLite thread (`leases`), never on a loop nor in the caller's thread:
releases and lessons are handed over without waiting. Any trouble with that file
turns sharing off for the rest of the process, with one warning: the per-process
gate goes on alone.

The gate is used from several event loops (the sync path's loop, a user's own loop,
eval's loop) and from threads, so it holds its state under a `threading.Lock`, and
its waiters wait in the package's one waiting line (`waiting_line`), woken on their
own loops.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time

from ..types import GateSlot
from . import leases
from .shared_limits import Lease
from .waiting_line import WaitingLine
from .window import Window

logger = logging.getLogger(__name__)


class Slot:
    """One call's permission to run on a model. `release()` is idempotent and
    thread-safe.

    `detach()` is called by the thread bridge when the awaiting task gave up (timeout,
    cancel) while the blocking call still runs; the thread then releases the slot
    itself when the call really ends, so no new call overlaps it under the model's cap
    (a plugin's native handle may not be thread-safe). The provider's window is
    given back at once: the call is over for the run, and an abandoned call that
    hangs for minutes must not starve the other models of its limit group (the
    arbiter on the same endpoint, say). Were the provider still busy with it, its
    next refusal says so and the window learns.
    """

    __slots__ = ("_epoch", "_gate", "_heard", "_released", "detached", "held_back", "lease", "refusals", "waited")

    def __init__(self, gate: ModelGate | None, epoch: int = 0, waited: float = 0.0) -> None:
        self._gate = gate
        self._epoch = epoch
        self._released = False
        self.detached = False
        self.waited = waited  # seconds spent waiting for the gate
        self.lease: Lease | None = None  # the call's row in the shared state, when shared
        self.refusals = 0  # 429 responses to this call seen as they happened
        self._heard = False  # the gate has learned from a refusal of this call
        self.held_back = False  # other calls were left waiting for room when this one got it

    @property
    def released(self) -> bool:
        return self._released

    def refused(self) -> None:
        """The provider answered this call's request with a 429, seen as it happened
        (its SDK may retry it by itself)."""
        self.refusals += 1
        if self._gate is not None:
            self._gate.rate_limited(self)

    def detach(self) -> None:
        """Leave the slot to the thread still running its call; see the class docstring."""
        gate = self._gate
        if gate is None:
            self.detached = True
            return
        self._give_back_lease()
        gate._detach(self)

    def release(self) -> None:
        gate = self._gate
        if gate is None:
            self._released = True
            return
        self._give_back_lease()
        gate._release(self)

    def _give_back_lease(self) -> None:
        lease, self.lease = self.lease, None
        if lease is not None:
            leases.later(lambda shared: shared.release(lease))


class ModelGate:
    """Per-model concurrency in one process: a fixed cap and a learned window.

    `limit` is the learned limit under the cap (None = unlimited), `lowest` the
    lowest the limit went (None = never lowered), `in_flight` the slots held now.
    Waiters are served first come, first served.
    """

    def __init__(self, max_concurrent: int | None = None, key: str | None = None) -> None:
        _check_cap(max_concurrent)
        self.key = key  # the model's id, naming its shared state (None: never shared)
        self._shared_limit: int | None = None  # the shared limit, as last read
        self._lock = threading.Lock()
        self._line: WaitingLine[Slot, int | None] = WaitingLine(
            self._lock, self._has_room, self._grant, self._undo, Slot.release
        )
        self.cap: int | None = max_concurrent  # for calls that bring no cap of their own
        self._window = Window()  # this process's own (when the shared one is not used)
        self._shared_lowest: int | None = None
        self.in_flight = 0
        self.given_up = 0  # of those, calls given up on whose threads still run: off the window

    @property
    def limit(self) -> int | None:
        with self._lock:
            return self._limit()

    def limit_for(self, cap: int | None) -> int | None:
        """The limit for a call under `cap`: the smaller of it and the learned
        limit (None = unlimited)."""
        with self._lock:
            return self._limit(cap)

    def _limit(self, cap: int | None = None) -> int | None:
        cap = self.cap if cap is None else cap
        adaptive = self._window.limit
        if self._shared():
            adaptive = self._shared_limit  # the leases enforce it; here it is reported
        if adaptive is None:
            return cap
        if cap is None:
            return adaptive
        return min(cap, adaptive)

    @property
    def lowest(self) -> int | None:
        with self._lock:
            return self._shared_lowest if self._shared() else self._window.lowest

    def _shared(self) -> bool:
        return self.key is not None and leases.sharing()

    def _has_room(self, cap: int | None = None) -> bool:
        cap = self.cap if cap is None else cap
        if cap is not None and self.in_flight >= cap:
            return False
        return self._shared() or self._window.has_room(self._windowed())  # shared: the leases keep to it

    def _windowed(self) -> int:
        """The calls in flight that count against the window (not those given up on)."""
        return self.in_flight - self.given_up

    def _grant(self) -> Slot:
        self.in_flight += 1
        slot = Slot(self, self._window.epoch)
        slot.held_back = len(self._line) > 0
        return slot

    def _undo(self, slot: Slot) -> None:
        slot._released = True
        self.in_flight -= 1

    async def acquire(self, cap: int | None = None) -> Slot:
        """Wait for room under `cap` (None: the gate's own cap) and take a slot;
        `Slot.waited` says how long it took."""
        _check_cap(cap)
        started = time.monotonic()
        with self._lock:
            self._window.forget_if_stale(started)
        slot, queued = await self._line.take(cap)
        if queued:
            slot.waited = time.monotonic() - started
        return await self._leased(slot, started)

    async def _leased(self, slot: Slot, started: float) -> Slot:
        """`slot`, with a lease in the shared state when limits are shared."""
        if not self._shared() or self.key is None:
            return slot
        try:
            slot.lease = lease = await leases.take_lease(self.key)
        except BaseException:
            slot.release()
            raise
        if lease is not None:
            slot.held_back = slot.held_back or leases.waiting(self.key) > 0
            with self._lock:
                self._shared_limit, self._shared_lowest = lease.limit, lease.lowest
        slot.waited = time.monotonic() - started
        return slot

    def rate_limited(self, slot: Slot | None = None) -> None:
        """The provider refused the call holding `slot` for rate: the window shrinks
        (`Window.refusal`), the shared one when shared. Once per call, whoever tells:
        a call its SDK retried three times, then raised, is one call the provider
        would not take, not four."""
        if slot is not None:
            if slot._heard:
                return
            slot._heard = True
        lease = slot.lease if slot is not None else None
        epoch = None if slot is None else slot._epoch
        if self._shared() and self.key is not None:
            key = self.key
            in_flight = self._windowed()

            def learned(known: object) -> None:
                if isinstance(known, tuple):
                    with self._lock:
                        self._shared_limit, self._shared_lowest = known
                else:  # sharing was lost on the way: this process's own window learns
                    with self._lock:
                        self._window.refusal(in_flight, epoch, time.monotonic())

            leases.later(lambda shared: shared.rate_limited(lease, key), learned)
            return
        with self._lock:
            self._window.refusal(self._windowed(), epoch, time.monotonic())

    def succeeded(self, slot: Slot | None = None) -> None:
        """The call holding `slot` succeeded (call before releasing it): a full
        window grows (`Window.success`), the shared one when shared."""
        if self._shared() and self.key is not None:
            key = self.key
            lease = slot.lease if slot is not None else None
            waiting = leases.waiting(key)
            held_back = slot is not None and slot.held_back
            leases.later(lambda shared: shared.succeeded(lease, key, waiting, held_back))
            return
        with self._lock:
            self._window.success(
                self._windowed(), None if slot is None else slot._epoch, len(self._line),
                slot is not None and slot.held_back,
            )
            self._line.serve()

    def _detach(self, slot: Slot) -> None:
        with self._lock:
            if slot._released or slot.detached:
                return
            slot.detached = True
            self.given_up += 1
            self._line.serve()

    def _release(self, slot: Slot) -> None:
        with self._lock:
            if slot._released:
                return
            slot._released = True
            self.in_flight -= 1
            if slot.detached:
                self.given_up -= 1
            self._line.serve()


_gates: dict[tuple[str, str], ModelGate] = {}  # by (model, limit group)
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

    def succeeded(self, slot: GateSlot | None = None) -> None:
        self.gate.succeeded(slot if isinstance(slot, Slot) else None)


def gate_for(key: str, max_concurrent: int | None = None, group: str | None = None) -> CappedGate:
    """Model `key`'s process-wide gate (shared by every run in the process, so its
    calls in flight and its learned limit are the model's), as a configuration with
    cap `max_concurrent` uses it; its shared window and leases are those of limit
    group `group` (None: the model's own, `limit_groups`)."""
    with _gates_lock:
        gate = _gates.get((key, group or key))
        if gate is None:
            gate = _gates[(key, group or key)] = ModelGate(key=group or key)
    return CappedGate(gate, max_concurrent)


def reset_gates() -> None:
    """Forget every gate (tests, or a process that wants to start afresh)."""
    with _gates_lock:
        _gates.clear()


def _after_fork() -> None:
    """A forked child has none of its parent's calls in flight (their threads stayed
    behind): it starts afresh."""
    global _gates_lock
    _gates_lock = threading.Lock()
    _gates.clear()


os.register_at_fork(after_in_child=_after_fork)


current_slot: contextvars.ContextVar[GateSlot | None] = contextvars.ContextVar(
    "llm_consortium_current_slot", default=None
)

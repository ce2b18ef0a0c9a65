"""This process's use of the shared state (`shared_limits`): whether it is on, each
operation with the fall-back when the file cannot be used, and a call's wait for a
lease.

Waiting for a lease is polling: processes cannot wake each other. So that sixteen
processes with three waiting calls each do not read the file fifty times a tick, a
process keeps its waiting calls in line per model, and only the first in line looks,
with a cheap read that takes no lock, every `POLL_EVERY` seconds (jittered); it
claims when room appears, and the next in line takes over. Every call still tries a
claim every `CLAIM_EVERY` seconds (a claim also drops dead processes' leases).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .shared_limits import FILE_NAME, Lease, SharedLimits, SharedStateError

logger = logging.getLogger(__name__)

POLL_EVERY = 0.03  # seconds between looks at a full shared window (jittered ±50 %)
CLAIM_EVERY = 1.0  # seconds between claims of a call not first in line

_sharing: SharedLimits | None = None
_lock = threading.Lock()
_lines: dict[str, collections.deque[object]] = {}  # per model: this process's waiting calls
GAVE_UP = object()  # what a shared operation returns once sharing is off


def share_limits(folder: Path | None) -> None:
    """Share every model's calls in flight and learned window with the user's other
    processes, through a file in `folder` (None: this process alone)."""
    global _sharing
    with _lock:
        if folder is None:
            _sharing = None
        elif _sharing is None or _sharing.path.parent != folder:
            _sharing = SharedLimits(folder / FILE_NAME)


def sharing() -> bool:
    return _sharing is not None


def shared_call(work: Callable[[SharedLimits], Any], failed: Any = None) -> Any:
    """`work(shared)` on the shared state; on any trouble with it, sharing is turned
    off for this process with one warning, and `failed` is returned."""
    global _sharing
    shared = _sharing
    if shared is None:
        return failed
    try:
        return work(shared)
    except SharedStateError as ex:
        with _lock:
            if _sharing is shared:
                _sharing = None
                logger.warning(
                    "Consortium: rate limits are learned in this process alone: the shared state cannot be used (%s)",
                    ex,
                )
        return failed


async def take_lease(key: str) -> Lease | None:
    """A lease on model `key`'s shared window, waiting in line while it is full; None
    when sharing is (or has just been turned) off."""

    def take(shared: SharedLimits) -> Lease | None:
        return shared.try_lease(key)

    def free(shared: SharedLimits) -> bool:
        return shared.looks_free(key)

    lease = await asyncio.to_thread(shared_call, take, GAVE_UP)
    if lease is None:
        me = object()
        with _lock:
            line = _lines.setdefault(key, collections.deque())
            line.append(me)
        try:
            while lease is None:
                claim_at = time.monotonic() + CLAIM_EVERY
                while time.monotonic() < claim_at:
                    await asyncio.sleep(POLL_EVERY * (0.5 + random.random()))
                    with _lock:
                        first = line[0] is me
                    if first and await asyncio.to_thread(shared_call, free, True):
                        break
                lease = await asyncio.to_thread(shared_call, take, GAVE_UP)
        finally:
            with _lock:
                line.remove(me)
    return lease if isinstance(lease, Lease) else None  # GAVE_UP: sharing is off now


def _after_fork() -> None:
    """A forked child must not reuse the parent's SQLite connections, and has none of
    its waiting calls: it starts afresh."""
    global _sharing, _lock
    _lock = threading.Lock()
    _lines.clear()
    if _sharing is not None:
        _sharing = SharedLimits(_sharing.path)


os.register_at_fork(after_in_child=_after_fork)

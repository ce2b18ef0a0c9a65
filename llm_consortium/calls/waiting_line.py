"""The one way a call waits for room in this package: a line served first come, first
served, waited in from any event loop and served from any thread.

"At most N in flight" has two users: a model's gate (its `max_concurrent` and learned
window, gate.py) and a model's thread allowance (threads.py). asyncio's `Semaphore`
and anyio's `CapacityLimiter` cannot serve either: each belongs to one event loop,
and one model's calls come from several loops at once (the sync path's shared loop,
a user's own loop, eval's, one `asyncio.run` per async-API call) and end in threads
of their own, which free the room. Moving every wait onto one shared loop would add
a hop between threads to every call, and tie a user's loop to ours.

So the owner keeps the room (what is free, under its own `threading.Lock`, which the
line shares) and says how to take and give it back; the line keeps who waits, in
order, and wakes each waiter on its own loop. Its cancel rules, in one place:
- a waiter cancelled (a timeout, Ctrl-C, a cancelled request) leaves the line;
- room granted to a waiter as it was cancelled is given back, so it goes to the next;
- a waiter whose loop has closed is passed over, and its grant undone.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")  # what a grant hands the waiter (a gate slot; nothing for an allowance)
W = TypeVar("W")  # what a waiter wants (a cap; nothing for an allowance)

_NOT_YET = object()


class _Waiter(Generic[W]):
    __slots__ = ("future", "granted", "loop", "want")

    def __init__(self, loop: asyncio.AbstractEventLoop, want: W) -> None:
        self.loop = loop
        self.want = want
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted: object = _NOT_YET


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class WaitingLine(Generic[T, W]):
    """Calls waiting for room that its owner keeps under `lock`.

    - `room(want)`: whether a waiter wanting `want` fits now (lock held);
    - `grant()`: take the room and return what the waiter gets (lock held);
    - `undo(granted)`: put back a grant nobody will receive (lock held);
    - `give_back(granted)`: release a grant its waiter no longer wants (lock not
      held: the owner's usual release, which serves the line again).
    """

    def __init__(
        self,
        lock: threading.Lock,
        room: Callable[[W], bool],
        grant: Callable[[], T],
        undo: Callable[[T], None],
        give_back: Callable[[T], None],
    ) -> None:
        self._lock = lock
        self._room = room
        self._grant = grant
        self._undo = undo
        self._give_back = give_back
        self._waiters: collections.deque[_Waiter[W]] = collections.deque()

    def __len__(self) -> int:
        """How many wait now (read with the lock held for an exact count)."""
        return len(self._waiters)

    async def take(self, want: W) -> tuple[T, bool]:
        """A grant, at once when nobody waits and there is room, else in turn; and
        whether it waited in line for it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiters and self._room(want):
                return self._grant(), False
            waiter = _Waiter(loop, want)
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if granted is _NOT_YET and waiter in self._waiters:
                    self._waiters.remove(waiter)
            if granted is not _NOT_YET:  # granted as it was cancelled: the next one gets it
                self._give_back(granted)  # type: ignore[arg-type]
            raise
        return waiter.granted, True  # type: ignore[return-value]

    def serve(self) -> None:
        """Hand free room to waiters, in order; one whose want does not fit does not
        hold back a later one whose want does (call with the lock held)."""
        for waiter in list(self._waiters):
            if waiter.future.cancelled():  # it was leaving anyway
                self._waiters.remove(waiter)
                continue
            if not self._room(waiter.want):
                continue
            self._waiters.remove(waiter)
            waiter.granted = granted = self._grant()  # before the wake-up: it may run at once
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # that waiter's loop is closed: nobody waits there
                waiter.granted = _NOT_YET
                self._undo(granted)

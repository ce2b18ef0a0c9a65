"""How many calls one model's provider takes at once, learned from its answers.

A provider's capacity is invisible until it refuses (`429`), and every refusal costs:
providers count refused requests against the account, and the provider's SDK retries
each one by itself before the plugin even hears of it. So the window is learned the
way TCP learns a path, with one change for a provider whose limit holds still:

- **Slow start.** A model never refused may have `INITIAL` calls in flight in a
  process alone, `SHARED_INITIAL` over all the user's processes when shared (what
  is learned there is kept, so the smaller start, which costs a round trip on the
  first call that wants more, is paid once per model, not at every process start:
  docs/performance.md has the trade-off in numbers), and the window doubles once a window's worth
  of calls succeeded while demand filled it: once per round trip while demand exceeds it.
  (Not by one per success, as TCP does: the provider's SDK retries a refused call by
  itself for a second or more before the plugin hears of it, so the first successes
  of a window come back while its refusals are still hidden.) A burst of eight `llm`
  processes is not sent at once into an unknown limit; one consortium with eight
  calls or fewer to one model never waits for it.
- **Multiplicative decrease.** A refusal halves the window (at least 1), once per
  burst: refusals of calls started before the decrease only say the provider took
  one call fewer than were in flight then.
- **A remembered ceiling.** The fewest calls in flight the provider refused is the
  *ceiling*. Below ceiling - 1 the window grows back by one per success (the provider
  took as much a moment ago); at ceiling - 1 it stays for `PROBE_ROUNDS` round trips
  of successes before it tries the ceiling again. Growing by one per round trip
  straight past it, as plain AIMD does, is refused again every few round trips.
  Once a call at the ceiling succeeds, the ceiling is stale and growth is one per
  round trip again.
- **Forgetting.** `FORGET_AFTER` seconds after the last refusal, what was learned
  is forgotten (a limit learned during an outage must not throttle tomorrow's runs).

Pure state, no clock or I/O of its own: `gate.ModelGate` keeps one per model in a
process, the shared store (`shared_limits`) one per limit group (`limit_groups`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INITIAL = 8  # calls in flight a model never refused may have, in one process alone
SHARED_INITIAL = 4  # the same over all the processes that share a store (shared_limits)
PROBE_ROUNDS = 8  # round trips of successes at ceiling - 1 before trying the ceiling
MAX_PROBE_DOUBLINGS = 4  # that wait doubles each time the ceiling is refused again, this many times at most
FORGET_AFTER = 3600.0  # seconds after the last refusal


@dataclass
class Window:
    """One model's window; see the module docstring. `size` is what may be in flight
    now, `learned` says a refusal set it, `epoch` counts decreases (a call remembers
    the epoch it started in), `base` and `refused` describe the current burst of
    refusals, `refused_at` is the last refusal's time on the caller's clock,
    `probes` counts the tries at the ceiling refused in a row."""

    size: int = INITIAL
    learned: bool = False
    ceiling: int | None = None
    lowest: int | None = None
    epoch: int = 0
    base: int = 0
    refused: int = 0
    successes: int = 0
    refused_at: float | None = None
    probes: int = 0

    @property
    def limit(self) -> int | None:
        """The learned limit (None until the provider refuses: slow start is not a
        limit of the provider's)."""
        return self.size if self.learned else None

    def has_room(self, held: int) -> bool:
        return held < self.size

    def forget_if_stale(self, now: float, initial: int = INITIAL) -> bool:
        """Forget what was learned `FORGET_AFTER` after the last refusal, back to a
        window of `initial`; whether it was. The epoch and the lowest limit stay:
        they describe the past."""
        if not self.learned or self.refused_at is None or now - self.refused_at <= FORGET_AFTER:
            return False
        self.size, self.learned, self.ceiling = initial, False, None
        self.base = self.refused = self.successes = self.probes = 0
        return True

    def refusal(self, held: int, started_epoch: int | None, now: float) -> None:
        """The provider refused a call for rate while `held` calls were in flight
        (the refused one among them); `started_epoch` is the epoch it started in
        (None: unknown, counted as a new burst)."""
        if started_epoch is not None and started_epoch < self.epoch:
            self.refused += 1  # same burst: the provider took one fewer than thought
            self.ceiling = max(1, self.base - self.refused + 1)
            self.size = max(1, min(self.size, self.ceiling - 1))
        else:
            base = max(1, min(self.size, held))
            ceiling = self.ceiling
            tried_the_ceiling = ceiling is not None and self.size >= ceiling
            if ceiling is not None and tried_the_ceiling:
                base = max(base, ceiling)  # refused there again: calls that ended since the 429 do not lower it
            self.probes = self.probes + 1 if tried_the_ceiling else 0
            self.base, self.refused, self.epoch = base, 1, self.epoch + 1
            self.ceiling = base
            self.size = max(1, min(math.ceil(base / 2), base - 1))
            self.successes = 0
        self.learned, self.refused_at = True, now
        self.lowest = self.size if self.lowest is None else min(self.lowest, self.size)

    def success(
        self, held: int, started_epoch: int | None = None, waiting: int = 0, held_back: bool = False
    ) -> None:
        """A call succeeded while `held` calls were in flight (itself among them) and
        `waiting` more waited for room; `held_back`: calls were left waiting for room
        when this one started. Only a window that demand fills grows: successes below
        it say nothing of the provider, nor do those of calls started before the last
        decrease (the window they were sent in was too big; their refused siblings
        may still be on the way). Waiting calls count: when a full window's calls end
        together, only the first would see it full. And a call that started while
        others were held back counts even when, as it ends, the demand has ebbed (the
        calls of its window ending together): 16 copies of one model meeting a window
        of 8 with 4 left to start must double it, or their next call is two waves."""
        filled = held_back or held + waiting >= self.size
        if not filled or (started_epoch is not None and started_epoch < self.epoch):
            return
        if not self.learned:  # slow start: doubles once a full window's worth succeeded
            self.successes += 1
            if self.successes >= self.size:
                self.size, self.successes = 2 * self.size, 0
            return
        needed = self.size  # one per round trip
        if self.ceiling is not None:
            if self.size < self.ceiling - 1:
                needed = 1  # back toward what the provider took a moment ago
            elif self.size == self.ceiling - 1:  # rarely try the ceiling again
                needed = self.size * PROBE_ROUNDS * 2 ** min(self.probes, MAX_PROBE_DOUBLINGS)
            else:
                self.ceiling, self.probes = None, 0  # a call at the ceiling succeeded: it has moved
        self.successes += 1
        if self.successes >= needed:
            self.size, self.successes = self.size + 1, 0

"""What every store of shared rate limits offers: the interface the SQLite file
(`sqlite_limits`) and a Redis server (`redis_limits`) both implement.

Eight `llm -m panel` processes started by `xargs -P 8`, or agents on three machines
using one provider key, each learning a provider's limit alone send far more than it
takes: every process probes, is refused, backs off and probes again. So the state
that matters across processes lives in one store, per *limit group* (what the
provider limits: a model, or every model behind one endpoint, `limit_groups`): its
`window.Window` (slow start, then the learned limit), and one *lease* per call in
flight. A call starts only when the group's leases leave room in its window, so
processes that never met a provider share one starting window of `SHARED_INITIAL`.

A store raises `SharedStateError` for any trouble (a locked or corrupt file, a
server that does not answer); `leases` then falls back to this process's own limits.
Every lease names the host and process that hold it: `LLM_CONSORTIUM_HOST`
overrides the host name (a bench simulating several machines on one).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Protocol

HOST_VARIABLE = "LLM_CONSORTIUM_HOST"


@dataclass(frozen=True)
class Lease:
    id: int
    key: str  # the limit group it counts in
    epoch: int  # the limit's epoch when granted: one burst of refusals halves once
    limit: int | None = None  # the learned limit when granted (None: never refused)
    lowest: int | None = None  # the lowest it went


def this_host() -> str:
    """The host name leases carry: `LLM_CONSORTIUM_HOST`, else the machine's."""
    return os.environ.get(HOST_VARIABLE) or socket.gethostname()


class LimitStore(Protocol):
    """Leases and learned windows per limit group `key`, shared by every process that
    uses the same store. Thread-safe; each method is one atomic change or read."""

    #: Whether this process uses the store again after trouble (a server that comes
    #: back), or gives it up for its lifetime (a file that failed once).
    rejoins: bool
    #: What the store is, for messages (a path, a URL without its password).
    where: str

    def try_lease(self, key: str) -> Lease | None:
        """A lease when the group's leases leave room in its window, else None."""

    def looks_free(self, key: str) -> bool:
        """Whether the group's window seems to have room: a cheap read, polled often
        between `try_lease` calls."""

    def release(self, lease: Lease) -> None: ...

    def release_all_of_this_process(self) -> None:
        """Stop counting every lease this process holds (it stopped using the store)."""

    def rate_limited(self, lease: Lease | None, key: str) -> tuple[int | None, int | None]:
        """A refusal of the call holding `lease`: (the limit now, the lowest it went)."""

    def succeeded(self, lease: Lease | None, key: str, waiting: int = 0, held_back: bool = False) -> None:
        """A success of the call holding `lease` (told before releasing it), while
        `waiting` calls of this process waited for a lease (`held_back`: some did
        when it got its lease; `Window.success`)."""

    def limits(self, key: str) -> tuple[int | None, int | None]:
        """(the learned limit now, the lowest it went), None when unknown."""

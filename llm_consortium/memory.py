"""A long-lived process's memory (the MCP server, `llm chat`, an eval): garbage handed
back to the system when nothing runs, and the process's resident size.

A member call's provider client (its connection pool, its TLS context) sits in
reference cycles, freed only by a full collection, which Python runs rarely in a
process holding as many objects as one with `llm` loaded; and glibc keeps what each
call's thread freed unless asked to give it back. `give_back_memory` does both, for a
process to call whenever its work is done (docs/performance.md has the MCP soak).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os

COLLECT_EVERY = 8  # runs between two collections in a process that runs many
_runs_ended = 0


def give_back_memory() -> None:
    """Collect the garbage in reference cycles and hand what the process freed back
    to the system (glibc's `malloc_trim`; elsewhere the collection alone). Nothing is
    frozen out of the collector (`gc.freeze`): a frozen heap made eval processes
    crash as they exited after Ctrl-C, so each collection scans the whole heap,
    which is why callers space them out."""
    gc.collect()
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing more to give back
        ctypes.CDLL(None).malloc_trim(0)


def after_run() -> None:
    """A run has ended in a process that runs many (`llm chat`'s turns, eval's
    items, the MCP server's consults when none is left running): memory is given
    back at the second run, then every `COLLECT_EVERY`, so a session of hundreds of
    turns stays the size of its first few while a collection costs little per run.
    A process that runs one prompt ends before a collection would pay for itself,
    so the first run costs nothing."""
    global _runs_ended
    _runs_ended += 1
    if _runs_ended >= 2 and (_runs_ended - 2) % COLLECT_EVERY == 0:
        give_back_memory()


def resident_bytes() -> int | None:
    """The process's resident memory in bytes; None where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None

"""Shared rate limits on a Redis server: the store for processes on several machines
(`LLM_CONSORTIUM_LIMITS=redis://host:6379/0`), with the same window and leases as the
SQLite file (`sqlite_limits`), the `LimitStore` of `shared_limits`.

Per limit group `K`, three keys, under one hash tag so that a script touches one slot:
- `llm-consortium:{K}:window`, the group's `window.Window` as a hash of its fields,
  written only by WATCH/MULTI transactions that apply `window.py`'s rules (the rules
  live in one place). A refusal sets the key to expire `FORGET_AFTER` after it, so
  the server forgets a learned limit on the window's own schedule; a window never
  refused never expires.
- `llm-consortium:{K}:leases`, a sorted set with one member per call in flight
  (`id@host:pid`), scored by when it expires. One Lua script drops the expired
  members and grants a lease only when those left leave room in the window, as one
  atomic step; a release removes its member.
- `llm-consortium:{K}:ids`, the lease ids, never reused.

A lease expires `LEASE_SECONDS` after it was granted or last renewed, and a daemon
thread renews this process's leases every third of that: a holder killed by SIGKILL
stops renewing, so its slots come back within `LEASE_SECONDS`. Every time is the
server's (`TIME`), so hosts whose clocks disagree still agree on what expired.

Any trouble with the server (down, unreachable, slow past `COMMAND_TIMEOUT`, a
refused command) is raised as `SharedStateError`; `leases` then lets the process
fall back to its own limits and try the server again later (`rejoins`). Everyone
using one Redis database shares its groups: each provider account gets its own
database (the `/0` of the URL). The `redis` package is imported only here, and only
when the variable names a server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from ..errors import SharedStateError
from .shared_limits import Lease, this_host
from .window import FORGET_AFTER, SHARED_INITIAL, Window

T = TypeVar("T")

logger = logging.getLogger(__name__)

LEASE_SECONDS = 15.0  # a lease not renewed for this long is dropped
CONNECT_TIMEOUT = 1.0  # seconds to reach the server before it counts as down
COMMAND_TIMEOUT = 2.0  # seconds one command may take before the server counts as down
PREFIX = "llm-consortium"

# KEYS: window, leases, ids. ARGV: lease ms, the window of a group never seen, owner.
# Returns false when the window is full, else {id, epoch, learned, size, lowest}.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local w = redis.call('HMGET', KEYS[1], 'size', 'epoch', 'learned', 'lowest')
local size = tonumber(w[1]) or tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[2]) >= size then
    return false
end
local id = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id .. '@' .. ARGV[3])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[1]))
return {id, w[2] or '0', w[3] or '0', tostring(size), w[4] or ''}
"""

# KEYS: window, leases. ARGV: the window of a group never seen. 1 when there is room.
_LOOK = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local size = tonumber(redis.call('HGET', KEYS[1], 'size')) or tonumber(ARGV[1])
if redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf') < size then
    return 1
end
return 0
"""

# KEYS: leases. ARGV: lease ms, then the members to renew (only those still there).
_RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i = 2, #ARGV do
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return 1
"""

# KEYS: window, leases. Returns {seconds, microseconds, leases held, the window's fields}.
_READ = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
return {clock[1], clock[2], redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'), redis.call('HGETALL', KEYS[1])}
"""

_FIELDS = {field.name: str(field.type) for field in fields(Window)}


def shown_url(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _encoded(window: Window) -> dict[str, str]:
    values = {name: getattr(window, name) for name in _FIELDS}
    return {name: str(int(value) if isinstance(value, bool) else value) for name, value in values.items()
            if value is not None}


def _decoded(stored: dict[bytes, bytes]) -> Window | None:
    if not stored:
        return None
    values: dict[str, Any] = {}
    for raw_name, raw in stored.items():
        name, text = raw_name.decode(), raw.decode()
        kind = _FIELDS.get(name)
        if kind is None:
            continue  # a field of another version: ignored
        values[name] = float(text) if "float" in kind else bool(int(text)) if kind == "bool" else int(text)
    return Window(**values)


class RedisLimits:
    """The shared state on the Redis server at `url`; see the module docstring.
    Thread-safe (the client keeps a pool of connections)."""

    rejoins = True

    def __init__(self, url: str) -> None:
        import redis  # the optional extra: only a process told to use a server needs it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.where = shown_url(url)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        try:
            # No retries of its own: a server that does not answer at once is down, and
            # the process goes on alone until it is back (`leases`).
            self.client = redis.Redis.from_url(
                url, socket_timeout=COMMAND_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 0)
            )
        except ValueError as ex:
            raise SharedStateError(f"{self.where}: {ex}") from ex
        self.owner = f"{this_host()}:{os.getpid()}"
        self._take = self.client.register_script(_TAKE)
        self._look = self.client.register_script(_LOOK)
        self._renew = self.client.register_script(_RENEW)
        self._read = self.client.register_script(_READ)
        self._lock = threading.Lock()
        self._held: dict[str, set[str]] = {}  # per group: this process's lease members
        self._renewer: threading.Thread | None = None

    @staticmethod
    def _keys(key: str) -> tuple[str, str, str]:
        return f"{PREFIX}:{{{key}}}:window", f"{PREFIX}:{{{key}}}:leases", f"{PREFIX}:{{{key}}}:ids"

    def _member(self, lease: Lease) -> str:
        return f"{lease.id}@{self.owner}"

    def _call(self, work: Callable[[], T]) -> T:
        """`work()`, any trouble with the server raised as `SharedStateError`."""
        try:
            return work()
        except self._errors as ex:
            raise SharedStateError(f"{self.where}: {ex}") from ex

    def try_lease(self, key: str) -> Lease | None:
        window, leases, ids = self._keys(key)
        ms = round(LEASE_SECONDS * 1000)
        granted = self._call(lambda: self._take(keys=[window, leases, ids], args=[ms, SHARED_INITIAL, self.owner]))
        if not granted:
            return None
        lease_id, epoch, learned, size, lowest = (item.decode() if isinstance(item, bytes) else str(item)
                                                  for item in granted)
        lease = Lease(int(lease_id), key, int(epoch), int(size) if learned == "1" else None,
                      int(lowest) if lowest else None)
        with self._lock:
            self._held.setdefault(key, set()).add(self._member(lease))
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew_forever, name="llm-consortium-leases", daemon=True)
                self._renewer.start()
        return lease

    def looks_free(self, key: str) -> bool:
        window, leases, _ = self._keys(key)
        return bool(self._call(lambda: self._look(keys=[window, leases], args=[SHARED_INITIAL])))

    def release(self, lease: Lease) -> None:
        member = self._member(lease)
        with self._lock:
            self._held.get(lease.key, set()).discard(member)  # renewed no more, whatever the server says
        self._call(lambda: self.client.zrem(self._keys(lease.key)[1], member))

    def release_all_of_this_process(self) -> None:
        """Stop renewing this process's leases and try once to remove them; those
        the server does not take back now expire within `LEASE_SECONDS`."""
        with self._lock:
            held, self._held = self._held, {}
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, members in held.items():
                    if members:
                        pipe.zrem(self._keys(key)[1], *members)
                pipe.execute()
        except self._errors:
            logger.debug("Consortium: leases left to expire on %s", self.where, exc_info=True)

    def _renew_forever(self) -> None:
        """Every third of a lease's time, push back the expiry of the leases this
        process holds (a renewal that fails is tried again at the next turn)."""
        while True:
            time.sleep(LEASE_SECONDS / 3)
            with self._lock:
                held = {key: sorted(members) for key, members in self._held.items() if members}
            ms = round(LEASE_SECONDS * 1000)
            for key, members in held.items():
                try:
                    self._renew(keys=[self._keys(key)[1]], args=[ms, *members])
                except self._errors:
                    logger.debug("Consortium: leases not renewed on %s", self.where, exc_info=True)

    def _window_now(self, key: str) -> tuple[Window, int, float]:
        """The group's window (fresh when none is stored), the leases held and the
        server's time, in one round trip."""
        window_key, leases_key, _ = self._keys(key)
        seconds, micros, held, flat = self._call(lambda: self._read(keys=[window_key, leases_key]))
        now = int(seconds) + int(micros) / 1e6
        window = _decoded(dict(zip(flat[::2], flat[1::2], strict=True))) or Window(SHARED_INITIAL)
        window.forget_if_stale(now, SHARED_INITIAL)
        return window, int(held), now

    def _change(self, key: str, change: Callable[[Window, int, float], None]) -> Window:
        """Apply `change(window, held, now)` to the group's window in one optimistic
        transaction (tried again when another process changed the window meanwhile)."""
        window_key, leases_key, _ = self._keys(key)
        changed: list[Window] = []

        def work(pipe: Any) -> None:
            changed.clear()
            seconds, micros = pipe.time()
            now = int(seconds) + int(micros) / 1e6
            window = _decoded(pipe.hgetall(window_key)) or Window(SHARED_INITIAL)
            window.forget_if_stale(now, SHARED_INITIAL)
            change(window, int(pipe.zcount(leases_key, f"({round(now * 1000)}", "+inf")), now)
            changed.append(window)
            pipe.multi()
            pipe.delete(window_key)
            pipe.hset(window_key, mapping=_encoded(window))
            if window.learned and window.refused_at is not None:
                pipe.pexpireat(window_key, round((window.refused_at + FORGET_AFTER) * 1000))

        self._call(lambda: self.client.transaction(work, window_key))
        return changed[0]

    def rate_limited(self, lease: Lease | None, key: str) -> tuple[int | None, int | None]:
        epoch = None if lease is None else lease.epoch
        window = self._change(key, lambda window, held, now: window.refusal(held, epoch, now))
        return window.limit, window.lowest

    def succeeded(self, lease: Lease | None, key: str, waiting: int = 0, held_back: bool = False) -> None:
        """Most successes change nothing (the window was not full): those are told by
        a plain read, and only a change is written, in a transaction."""
        epoch = None if lease is None else lease.epoch
        window, held, _ = self._window_now(key)
        before = _encoded(window)
        window.success(held, epoch, waiting, held_back)
        if _encoded(window) != before:
            self._change(key, lambda window, held, now: window.success(held, epoch, waiting, held_back))

    def limits(self, key: str) -> tuple[int | None, int | None]:
        window, _, _ = self._window_now(key)
        return window.limit, window.lowest

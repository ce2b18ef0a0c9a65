"""Rate limits shared by every process of the user: leases and the learned limit in one
SQLite file, what a killed process leaves behind, and the fall-back when the file
cannot be used."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_consortium.calls import leases, sqlite_limits, threads
from llm_consortium.calls.gate import gate_for
from llm_consortium.calls.limit_groups import endpoint
from llm_consortium.calls.policy import call_with_policy
from llm_consortium.calls.sqlite_limits import FILE_NAME, SqliteLimits
from llm_consortium.calls.window import SHARED_INITIAL
from llm_consortium.errors import SharedStateError
from llm_consortium.types import Call, Outcome, Participant, Reply

from helpers import LLM_BIN, Scripted, llm_subprocess, save, spawn
from loopback import NO_RETRY, error, hang, reply


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_leases_hold_the_shared_limit_across_instances(tmp_path):
    one, two = SqliteLimits(tmp_path / FILE_NAME), SqliteLimits(tmp_path / FILE_NAME)  # two processes
    first = one.try_lease("m")
    assert first is not None and one.limits("m") == (None, None)  # unlimited until refused
    second = one.try_lease("m")
    one.rate_limited(second, "m")  # two in flight, one refused: halve to 1
    assert two.limits("m") == (1, 1)
    assert two.try_lease("m") is None  # both leases still held
    one.release(first)
    assert two.try_lease("m") is None  # one still held, limit 1
    one.release(second)
    assert two.try_lease("m") is not None


def test_a_burst_of_refusals_halves_once_and_successes_grow_it_back(tmp_path):
    shared = SqliteLimits(tmp_path / FILE_NAME)
    leases = [shared.try_lease("m") for _ in range(SHARED_INITIAL)]
    for lease in leases:
        shared.rate_limited(lease, "m")  # all started before the first refusal
    assert shared.limits("m")[0] == 1  # all in flight refused: never above 0, at least 1
    for lease in leases:
        shared.release(lease)
    held = shared.try_lease("m")
    shared.succeeded(held, "m")  # the provider took one at once: the ceiling moved, one more
    assert shared.limits("m") == (2, 1)
    shared.release(held)


def test_a_full_window_looks_full_to_a_cheap_read_until_a_lease_is_released(tmp_path):
    one, two = SqliteLimits(tmp_path / FILE_NAME), SqliteLimits(tmp_path / FILE_NAME)
    assert two.looks_free("m")  # nothing known: room
    leases = [one.try_lease("m") for _ in range(4)]
    one.rate_limited(leases[0], "m")  # four in flight, one refused: a window of two
    assert not two.looks_free("m")
    for lease in leases[:3]:
        one.release(lease)
    assert two.looks_free("m") and two.try_lease("m") is not None


def test_a_dead_process_leaves_no_lease_behind(tmp_path):
    shared = SqliteLimits(tmp_path / FILE_NAME)
    lease = shared.try_lease("m")
    shared.rate_limited(lease, "m")  # limit 1, held by "us"
    db = shared._db()
    db.execute("update leases set pid = ?", (_dead_pid(),))  # as if we had been killed
    assert SqliteLimits(tmp_path / FILE_NAME).try_lease("m") is not None


@pytest.mark.parametrize("operation", ["try_lease", "looks_free"])
def test_an_unusable_state_file_is_an_error_to_fall_back_on(tmp_path, operation):
    path = tmp_path / FILE_NAME
    path.mkdir()
    with pytest.raises(SharedStateError):
        getattr(SqliteLimits(path), operation)("m")


def test_a_state_file_that_is_not_a_database_is_replaced_once_with_a_warning(tmp_path, caplog):
    path = tmp_path / FILE_NAME
    path.write_bytes(b"this is not a database" * 100)
    assert SqliteLimits(path).try_lease("m") is not None
    assert SqliteLimits(path).try_lease("m") is not None  # a database now: nothing to say
    assert [r.getMessage() for r in caplog.records] == [f"Consortium: {path} was not a database: replaced it with a fresh one"]


# ------------------------------------------------------------------ real llm processes


@pytest.fixture
def busy(loopback, openai_models):
    openai_models(["busy"])
    save("panel", [{"model_id": "busy", "count": 2}], arbiter=None, max_iterations=1)
    return loopback


def test_a_refusal_in_one_process_is_learned_in_the_shared_state(busy, user_path):
    refusal = error(429, "slow down", {"retry-after-ms": "1", **NO_RETRY})
    busy.script("busy", refusal, reply("same answer"))
    done = llm_subprocess(user_path, "-m", "panel", "q")
    assert done.returncode == 0, done.stderr
    limit, lowest = SqliteLimits(user_path / FILE_NAME).limits(endpoint(busy.url))
    assert lowest == 1 and limit is not None  # halved to 1, then grown by its successes


def test_every_process_keeps_to_the_limit_the_others_learned(busy, user_path):
    shared = SqliteLimits(user_path / FILE_NAME)
    lease = shared.try_lease(endpoint(busy.url))  # the loopback models' limit group
    shared.rate_limited(lease, endpoint(busy.url))  # another process learned: 1 at a time
    shared.release(lease)
    busy.limit_in_flight(1, retry_after_ms=1, client_retries=False)
    busy.script("busy", reply("same answer"))
    done = llm_subprocess(user_path, "-m", "panel", "q")
    assert done.returncode == 0, done.stderr
    assert busy.refused == 0  # its two member calls took turns
    assert done.stdout == "same answer\n"


def test_processes_that_never_met_the_provider_send_it_one_window_too_many_at_most(busy, openai_models, user_path):
    """Eight processes, three members each, three models of one server that takes
    two: from a cold start they share the slow start's first window (4) for that
    server, so at most 2 of its calls are refused, plus one probe; each model, or
    each process, learning alone would send all 24 at once."""
    trio = openai_models(["busy", "busy-b", "busy-c"])  # one endpoint
    save("trio", trio, arbiter=None, strategy="vote", max_iterations=1, min_members=3)
    assert llm_subprocess(user_path, "-m", "busy", "--no-log", "warm-up").returncode == 0  # llm's logs.db exists
    busy.reset()
    busy.limit_in_flight(2, retry_after_ms=1, client_retries=False)  # each 429 reaches the gate
    for model in trio:
        busy.script(model, reply("same answer", delay=0.2))
    children = [spawn(user_path, LLM_BIN, "-m", "trio", "--no-log", f"q{n}") for n in range(8)]
    finished = [child.communicate(timeout=120) for child in children]
    assert finished == [("same answer\n", "")] * 8
    assert busy.refused <= SHARED_INITIAL - 2 + 1 and busy.peak_in_flight == 2


def test_a_process_killed_while_holding_a_slot_does_not_block_the_others(busy, user_path):
    shared = SqliteLimits(user_path / FILE_NAME)
    lease = shared.try_lease(endpoint(busy.url))
    shared.rate_limited(lease, endpoint(busy.url))  # the learned limit: 1, free again
    shared.release(lease)
    busy.script("busy", hang(600))
    save("one", ["busy"], arbiter=None, max_iterations=1)
    holder = spawn(user_path, LLM_BIN, "-m", "one", "q")
    try:
        assert busy.wait_for_requests(1, model="busy", timeout=60)  # a hang guard: a loaded machine starts llm slowly
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        busy.release_hangs()
    busy.script("busy", reply("after the crash"))
    done = llm_subprocess(user_path, "-m", "one", "-o", "timeout", "60", "q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "after the crash\n"


@contextlib.contextmanager
def read_only_copy(folder: Path, scratch: Path) -> Iterator[Path]:
    """A copy of `folder` that nobody can write to. Permissions do not stop root, so
    as root the copy lives on a tmpfs remounted read-only (skipped where root may not
    mount, as in some containers)."""
    copy = scratch / "read-only"
    if os.geteuid() != 0:
        shutil.copytree(folder, copy)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield copy
        finally:
            for path in [copy, *copy.rglob("*")]:
                path.chmod(0o755)
        return
    copy.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(copy)], capture_output=True).returncode:
        pytest.skip("root here may not mount a tmpfs, and permissions do not stop root")
    try:
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(copy)], check=True, capture_output=True)
        yield copy
    finally:
        subprocess.run(["umount", str(copy)], capture_output=True)


def test_a_read_only_user_dir_never_fails_a_call(busy, user_path, tmp_path):
    busy.script("busy", reply("same answer"))
    logs = tmp_path / "logs.db"  # llm itself needs its logs database writable: `-d` puts it elsewhere
    with read_only_copy(user_path, tmp_path) as folder:
        done = llm_subprocess(folder, "-m", "panel", "-d", str(logs), "q")
        assert not (folder / FILE_NAME).exists()
    assert done.returncode == 0 and done.stdout == "same answer\n"
    assert done.stderr.count("rate limits are learned in this process alone") == 1
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_corrupt_state_file_is_replaced_and_warned_about_once_not_at_every_prompt(busy, user_path):
    (user_path / FILE_NAME).write_bytes(b"garbage" * 1000)
    busy.script("busy", reply("fine"))
    done = llm_subprocess(user_path, "-m", "panel", "q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fine\n"
    assert done.stderr == f"Consortium: {user_path / FILE_NAME} was not a database: replaced it with a fresh one\n"
    again = llm_subprocess(user_path, "-m", "panel", "q")
    assert again.returncode == 0 and again.stdout == "fine\n" and again.stderr == ""


def test_sharing_can_be_turned_off(busy, user_path):
    busy.script("busy", reply("fine"))
    done = llm_subprocess(user_path, "-m", "panel", "q", LLM_CONSORTIUM_SHARED_LIMITS="0")
    assert done.returncode == 0 and done.stderr == ""
    assert not (user_path / FILE_NAME).exists()


def test_many_threads_and_processes_starting_at_once_never_find_the_file_locked(tmp_path):
    """Setting a new file up (WAL mode, the tables) races between first users; the
    race must end in a wait, not in the per-process fall-back."""
    path = tmp_path / FILE_NAME
    script = (
        "import sys, threading\n"
        "from llm_consortium.calls.sqlite_limits import SqliteLimits\n"
        "errors = []\n"
        "def work():\n"
        "    shared = SqliteLimits(__import__('pathlib').Path(sys.argv[1]))\n"
        "    try:\n"
        "        for _ in range(20):\n"
        "            lease = shared.try_lease('m')\n"
        "            if lease is not None:\n"
        "                shared.succeeded(lease, 'm')\n"
        "                shared.release(lease)\n"
        "    except Exception as ex:\n"
        "        errors.append(ex)\n"
        "threads = [threading.Thread(target=work) for _ in range(6)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors)\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
                for _ in range(4)]
    outputs = [child.communicate(timeout=120)[0].strip() for child in children]
    assert outputs == ["[]"] * 4


# ------------------------------------------------------------------ this process's use of the file


def _leases_in(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("select count(*) from leases").fetchone()[0])


def test_lease_ids_are_never_reused_so_a_late_release_deletes_only_its_own(tmp_path):
    shared = SqliteLimits(tmp_path / FILE_NAME)
    shared.try_lease("m")
    last = shared.try_lease("m")
    shared.release(last)
    after = shared.try_lease("m")
    assert after.id > last.id


def test_a_success_that_changes_nothing_waits_for_no_writer(tmp_path, monkeypatch):
    """Most successes leave the window as it was: they must not queue for the write
    lock behind another process's transaction."""
    monkeypatch.setattr(sqlite_limits, "BUSY_MS", 50)
    shared = SqliteLimits(tmp_path / FILE_NAME)
    lease = shared.try_lease("m")  # one in flight, a window of 8: not full
    with contextlib.closing(sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)) as writer:
        writer.execute("begin immediate")  # another process writing
        shared.succeeded(lease, "m")  # waited 50 ms, then raised, when it took the write lock
        writer.execute("rollback")


@pytest.fixture
def shared_here(tmp_path):
    leases.share_limits(tmp_path)
    yield tmp_path / FILE_NAME
    leases.settle()


def test_the_gate_touches_the_file_only_in_its_own_thread(shared_here, monkeypatch):
    """Releases and lessons never run SQLite on the event loop (nor in the HTTP
    client's logging call that reports a 429)."""
    where: list[str] = []
    for name in ("try_lease", "release", "succeeded", "rate_limited"):
        original = getattr(SqliteLimits, name)

        def spy(self, *args, _original=original, _name=name):
            where.append(threading.current_thread().name)
            return _original(self, *args)

        monkeypatch.setattr(SqliteLimits, name, spy)

    async def scenario() -> str:
        gate = gate_for("m")
        slot = await gate.acquire()
        gate.succeeded(slot)
        gate.rate_limited(slot)
        slot.release()
        return threading.current_thread().name

    loop_thread = asyncio.run(scenario())
    leases.settle()
    assert len(where) == 4 and loop_thread not in where


def test_sharing_lost_stays_lost_for_the_process_and_its_leases_are_removed(shared_here, monkeypatch, caplog):
    """The file locked while a call releases its lease: one warning, this process's
    own limits from then on (a long `llm chat` does not turn sharing back on at its
    next turn), and its lease removed once the file lets it."""
    monkeypatch.setattr(sqlite_limits, "BUSY_MS", 50)
    monkeypatch.setattr(leases, "CLEAN_EVERY", 0.01)
    slot = asyncio.run(gate_for("m").acquire())
    leases.settle()
    assert slot.lease is not None and _leases_in(shared_here) == 1
    with contextlib.closing(sqlite3.connect(shared_here, isolation_level=None)) as writer:
        writer.execute("begin exclusive")  # another process holds the file
        slot.release()
        leases.settle(30)
        assert not leases.sharing()
        leases.share_limits(shared_here.parent)  # the next prompt of the same process
        assert not leases.sharing()
        writer.execute("rollback")
    assert leases._cleaning is not None
    leases._cleaning.join(30)
    assert _leases_in(shared_here) == 0
    assert sum("learned in this process alone" in r.getMessage() for r in caplog.records) == 1


def test_a_wait_cancelled_while_its_work_is_queued_leaves_the_worker_serving(shared_here):
    """A call's timeout, a Ctrl-C or an MCP cancel landing while its look at the file
    waits behind other work: the work is dropped, and the worker goes on serving
    every later call of the process."""
    started, go = threading.Event(), threading.Event()

    def blocking(store: SqliteLimits) -> str:
        started.set()
        go.wait(30)
        return "first"

    async def scenario() -> str:
        first = asyncio.ensure_future(leases.soon(blocking))
        await asyncio.to_thread(started.wait, 30)
        queued = asyncio.ensure_future(leases.soon(lambda store: "dropped"))
        for _ in range(5):  # it has handed its work over and waits for it
            await asyncio.sleep(0)
        queued.cancel()
        for _ in range(5):  # the cancel reaches the work it handed over, still queued
            await asyncio.sleep(0)
        go.set()
        assert await first == "first"
        return await asyncio.wait_for(leases.soon(lambda store: "still serving"), 10)  # a hang guard

    assert asyncio.run(scenario()) == "still serving"


def test_the_warning_about_an_unusable_limits_file_names_it_once(shared_here, caplog):
    os.mkfifo(shared_here)  # SQLite would hang on it: refused

    async def scenario() -> None:
        (await gate_for("m").acquire()).release()

    asyncio.run(scenario())
    leases.settle()
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.count(str(shared_here)) == 1 and "not a regular file (a FIFO)" in warning


def test_a_file_of_an_older_layout_is_made_afresh_without_a_word(tmp_path, caplog):
    path = tmp_path / FILE_NAME
    with contextlib.closing(sqlite3.connect(path)) as db:  # the tables as the previous layout made them
        db.execute("create table windows (model text primary key, size integer)")
        db.execute("insert into windows values ('m', 1)")
        db.commit()
    shared = SqliteLimits(path)
    assert [shared.try_lease("m") is not None for _ in range(SHARED_INITIAL + 1)] == [True] * SHARED_INITIAL + [False]
    assert caplog.records == []


def test_the_wait_for_a_lease_is_bounded_by_the_calls_timeout(shared_here):
    """A lease left in the file (a lost process, a limit of one learned elsewhere):
    `-o timeout` bounds the wait for it, as for any slot."""
    other = SqliteLimits(shared_here)
    held = other.try_lease("m")
    other.rate_limited(held, "m")  # a limit of 1, and its one lease held
    member = Scripted("m", "never asked")

    async def scenario():
        call = call_with_policy(Participant("m", member, gate=gate_for("m")), Call("q"), timeout=0.2, retries=0)
        return await asyncio.wait_for(call, 30)  # a hang guard: unbounded, it waited 900 s

    outcome = asyncio.run(scenario())
    assert member.calls == [] and not outcome.ok
    assert outcome.error.startswith("no free slot on its model within the 0.2s timeout")


def test_the_limit_another_process_learned_is_reported_before_any_refusal_here(shared_here):
    other = SqliteLimits(shared_here)
    lease = other.try_lease("m")
    other.rate_limited(lease, "m")
    other.release(lease)

    async def scenario() -> tuple[int | None, int | None]:
        gate = gate_for("m")
        slot = await gate.acquire()
        slot.release()
        return gate.limit, gate.lowest

    assert asyncio.run(scenario()) == (1, 1)


def test_a_shared_window_that_demand_fills_doubles_though_its_calls_end_together(tmp_path):
    """Warm, sixteen copies of one model run at once: the first batch's eight calls end
    together while eight more of the process wait, and that is a full window."""
    shared = SqliteLimits(tmp_path / FILE_NAME)
    held = [shared.try_lease("m") for _ in range(SHARED_INITIAL)]
    assert shared.try_lease("m") is None
    for lease in held:
        shared.succeeded(lease, "m", SHARED_INITIAL)
        shared.release(lease)
    doubled = 2 * SHARED_INITIAL
    assert [shared.try_lease("m") is not None for _ in range(doubled)] == [True] * doubled


def test_a_call_given_up_on_gives_its_groups_window_back_at_once(shared_here):
    """A member's blocking call past its timeout runs on in its thread, but the run is
    done with it: the arbiter on the same endpoint (one limit group, a limit of one
    learned) gets the slot, where it used to fail with "no free slot" until the hung
    call ended. The member's own model stays closed to it until its thread ends."""
    other = SqliteLimits(shared_here)
    lease = other.try_lease("endpoint")
    other.rate_limited(lease, "endpoint")
    other.release(lease)
    ends = threading.Event()

    async def hangs(call: Call) -> Reply:
        return await threads.in_thread(lambda: (ends.wait(30), Reply("late"))[1], key="member")

    async def scenario() -> tuple[Outcome, Outcome, int]:
        member = Participant("member", hangs, gate=gate_for("member", group="endpoint"))
        arbiter = Participant("arbiter", Scripted("arbiter", "judged"), gate=gate_for("arbiter", group="endpoint"))
        given_up = await call_with_policy(member, Call("q"), timeout=0.2, retries=0)
        judged = await asyncio.wait_for(call_with_policy(arbiter, Call("q"), timeout=5, retries=0), 30)
        still = gate_for("member", group="endpoint").gate.in_flight
        ends.set()
        return given_up, judged, still

    given_up, judged, still = asyncio.run(scenario())
    assert given_up.abandoned == 1 and not given_up.ok
    assert judged.ok and judged.reply.text == "judged", judged.error
    assert still == 1  # the member's thread still holds its model's own slot

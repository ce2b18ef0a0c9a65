"""How a participant's call physically runs: the sync path's one loop (loop.py), the
daemon thread pool and its bridge (threads.py), and the stdio guard (stdio.py)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
import threading

import pytest

from llm_consortium.adapter import loop
from llm_consortium.calls import stdio, threads
from llm_consortium.calls.gate import ModelGate, current_slot

# ------------------------------------------------------------------ the shared loop


def test_every_sync_call_in_a_process_runs_on_one_loop():
    async def which():
        return asyncio.get_running_loop()

    first = loop.run_sync(which)
    assert loop.run_sync(which) is first
    assert not first.is_closed()


def test_a_sync_call_runs_in_the_callers_thread():
    """Callers keep thread-bound things working: eval logs through a sqlite
    connection made in its own thread, plugins keep thread-locals."""

    async def where():
        return threading.current_thread()

    assert loop.run_sync(where) is threading.current_thread()


def test_inside_a_running_loop_sync_calls_share_one_other_loop():
    async def which():
        return asyncio.get_running_loop()

    async def notebook_cell():
        return asyncio.get_running_loop(), loop.run_sync(which), loop.run_sync(which)

    cell_loop, first, second = asyncio.run(notebook_cell())
    assert first is second and first is not cell_loop and first.is_running()


def test_each_sync_call_sees_the_callers_context_of_the_moment():
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")

    async def read_then_set():
        seen = marker.get()
        marker.set("set inside a run")
        return seen

    token = marker.set("first")
    try:
        assert loop.run_sync(read_then_set) == "first"
        marker.set("second")
        assert loop.run_sync(read_then_set) == "second"
    finally:
        marker.reset(token)


def test_an_error_arrives_without_an_unrelated_chained_exception():
    async def fails():
        raise ValueError("the run's own error")

    with pytest.raises(ValueError, match="the run's own error") as info:
        loop.run_sync(fails)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_sync_call_from_the_shared_loop_itself_does_not_deadlock():
    async def inner():
        return "inner"

    async def outer():
        return loop.run_sync(inner)  # blocks the shared loop: must not wait for it

    assert loop.run_sync(outer) == "inner"


def test_an_async_client_left_over_is_finalised_on_the_loop_that_made_it():
    """What llm's AsyncOpenAI clients do: on garbage collection during a later
    call, schedule their close on the running loop. Both calls share one loop."""
    made_on: list[asyncio.AbstractEventLoop] = []
    closed_on: list[asyncio.AbstractEventLoop] = []

    class Client:
        def __init__(self) -> None:
            made_on.append(asyncio.get_running_loop())

        async def aclose(self) -> None:
            closed_on.append(asyncio.get_running_loop())

        def __del__(self) -> None:
            asyncio.get_running_loop().create_task(self.aclose())

    leftover: list[Client] = []

    async def first():
        leftover.append(Client())

    async def second():
        leftover.clear()  # the client is collected during this call
        await asyncio.sleep(0)

    loop.run_sync(first)
    loop.run_sync(second)
    assert closed_on == made_on


# ------------------------------------------------------------- threads and the bridge


def test_the_pool_reuses_an_idle_thread():
    pool = threads.DaemonPool(size=4)
    for _ in range(3):
        done = threading.Event()
        pool.submit(done.set)
        assert done.wait(30)
    assert pool.threads == 1


def test_the_pool_never_starts_more_threads_than_its_size():
    pool = threads.DaemonPool(size=2)
    release = threading.Event()
    started = threading.Semaphore(0)
    finished = threading.Semaphore(0)

    def job():
        started.release()
        release.wait()
        finished.release()

    for _ in range(3):
        pool.submit(job)
    assert started.acquire(timeout=30) and started.acquire(timeout=30)
    assert pool.threads == 2
    release.set()
    for _ in range(3):
        assert finished.acquire(timeout=30)
    assert pool.threads == 2


def test_pool_threads_are_daemons():
    pool = threads.DaemonPool(size=1)
    seen = []
    done = threading.Event()
    pool.submit(lambda: (seen.append(threading.current_thread().daemon), done.set()))
    assert done.wait(30) and seen == [True]


@pytest.mark.asyncio
async def test_in_thread_returns_the_value_and_raises_the_error_in_the_callers_context():
    marker = current_slot.set(None)
    try:
        assert await threads.in_thread(lambda: threading.current_thread().name) != threading.current_thread().name

        def boom():
            raise KeyError("inside")

        with pytest.raises(KeyError, match="inside"):
            await threads.in_thread(boom)
    finally:
        current_slot.reset(marker)


@pytest.mark.asyncio
async def test_a_call_given_up_on_keeps_its_slot_until_its_thread_ends():
    gate = ModelGate(1)
    release = threading.Event()
    slot = await gate.acquire()
    token = current_slot.set(slot)
    try:
        call = asyncio.ensure_future(threads.in_thread(release.wait))
    finally:
        current_slot.reset(token)
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert slot.detached and not slot.released
    assert gate.in_flight == 1  # the thread still runs on the model: nobody else may start
    waiting = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()  # the blocking call really ends; its thread gives the slot back
    second = await waiting
    assert slot.released
    second.release()


@pytest.mark.asyncio
async def test_a_call_that_ends_normally_leaves_its_slot_to_the_caller():
    gate = ModelGate(1)
    slot = await gate.acquire()
    token = current_slot.set(slot)
    try:
        assert await threads.in_thread(lambda: 42) == 42
    finally:
        current_slot.reset(token)
    assert not slot.detached and not slot.released
    slot.release()


# ------------------------------------------------------------------------ stdio guard


def test_a_member_that_leaves_sys_stdout_swapped_is_put_back_and_named(caplog):
    original_out, original_err = sys.stdout, sys.stderr
    with open(os.devnull, "w") as null, caplog.at_level(logging.WARNING), stdio.guarded("local#2"):
        sys.stdout = sys.stderr = null
    assert sys.stdout is original_out and sys.stderr is original_err
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "local#2" in warnings[0] and "sys.stdout and sys.stderr" in warnings[0]


def test_a_member_that_puts_stdio_back_causes_no_warning(caplog):
    with caplog.at_level(logging.WARNING), stdio.guarded("tidy"):
        saved = sys.stdout
        sys.stdout = sys.stderr
        sys.stdout = saved
    assert caplog.records == []


def test_two_overlapping_redirects_that_put_back_each_others_replacement_are_undone():
    """The race of two threads loading one local model: A saves the real stream and
    swaps in its null file, B saves A's null file and swaps in its own, A puts back
    the real one, B puts back A's null file: the process is left writing nowhere."""
    original = sys.stdout
    a_swapped, b_done = threading.Event(), threading.Event()
    with open(os.devnull, "w") as null_a, open(os.devnull, "w") as null_b:

        def a():
            with stdio.guarded("local"):
                saved = sys.stdout
                sys.stdout = null_a
                a_swapped.set()
                b_done.wait(30)
                sys.stdout = saved

        def b():
            with stdio.guarded("local#2"):
                assert a_swapped.wait(30)
                saved = sys.stdout
                sys.stdout = null_b
                b_done.set()
                first.join(30)
                sys.stdout = saved  # A's null file

        first = threading.Thread(target=a)
        second = threading.Thread(target=b)
        first.start()
        second.start()
        first.join(30)
        second.join(30)
    assert sys.stdout is original


def test_a_member_that_leaves_fd_1_on_devnull_is_put_back():
    before = os.fstat(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        with stdio.guarded("local-fd"):
            os.dup2(null, 1)
    finally:
        os.close(null)
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_stdio_is_checked_when_the_last_overlapping_call_ends():
    original = sys.stdout
    with open(os.devnull, "w") as null, stdio.guarded("outer"):
        with stdio.guarded("inner"):
            sys.stdout = null
        assert sys.stdout is null  # another call is still running: not yet
    assert sys.stdout is original

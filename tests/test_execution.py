"""How a participant's call physically runs: the sync path's one loop (loop.py), the
daemon thread per call and its bridge (threads.py), and the stdio guard (stdio.py)."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

import pytest

from llm_consortium.adapter import loop
from llm_consortium.calls import stdio, threads
from llm_consortium.calls.gate import ModelGate, current_slot, gate_for

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


def test_call_threads_are_daemons():
    """A provider that hangs must never keep the process alive at exit."""
    assert asyncio.run(threads.in_thread(lambda: threading.current_thread().daemon)) is True


_SWITCH_SCRIPT = """
import asyncio, queue, threading
from llm_consortium.calls import threads

taken, go, second_ran = threading.Event(), threading.Event(), threading.Event()


def switch(frame, event, arg):
    # Holds a call thread just after it takes a job from a queue, before it can
    # count itself busy: the moment a pool misjudges how many workers are idle.
    if (event == "c_return" and getattr(arg, "__name__", "") == "get"
            and isinstance(getattr(arg, "__self__", None), queue.SimpleQueue)
            and threading.current_thread().name.startswith("llm-consortium")
            and not taken.is_set()):
        taken.set()
        go.wait()


threading.setprofile(switch)


async def main():
    def first():
        taken.set()
        return second_ran.wait(20)  # a hang guard: True as soon as the second call ran

    one = asyncio.ensure_future(threads.in_thread(first))
    await asyncio.to_thread(taken.wait)
    two = asyncio.ensure_future(threads.in_thread(second_ran.set))
    await asyncio.sleep(0)
    go.set()
    await two
    print(await one)


asyncio.run(main())
"""


def test_a_call_never_waits_behind_another_calls_blocking_work():
    """The second call must run while the first blocks (the first waits for it).
    Run in a fresh process so no call thread exists before the switch is installed."""
    out = subprocess.run([sys.executable, "-c", _SWITCH_SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def _in_forked_child(check: Callable[[], bool]) -> int:
    """The exit code of a forked child that runs `check` (0 when it holds)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if check() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


_FORK_SCRIPT = """
import asyncio, os, queue, threading
from llm_consortium.calls import threads

parked = set()  # call threads waiting for more work


def watch(frame, event, arg):
    if (getattr(arg, "__name__", "") == "get"
            and isinstance(getattr(arg, "__self__", None), queue.SimpleQueue)):
        if event == "c_call":
            parked.add(threading.get_ident())
        elif event == "c_return":
            parked.discard(threading.get_ident())


threading.setprofile(watch)
assert asyncio.run(threads.in_thread(lambda: 1)) == 1
# Fork once every call thread has ended or parked, as in a long-lived parent.
while any(t.name.startswith("llm-consortium-call") and t.is_alive() and t.ident not in parked
          for t in threading.enumerate()):
    threading.Event().wait(0.001)
pid = os.fork()
if pid == 0:
    code = 1
    try:
        code = 0 if asyncio.run(asyncio.wait_for(threads.in_thread(lambda: 2), 20)) == 2 else 1
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_calls_in_threads_work_in_a_forked_child():
    """A forked child of a process that has made calls must start its own threads
    (the 20 s inside is a hang guard). In a fresh process, so the watch sees every thread."""
    out = subprocess.run([sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_a_forked_child_does_not_count_its_parents_running_calls(monkeypatch):
    monkeypatch.setattr(threads, "THREADS_PER_MODEL", 1)
    key = f"forked-{uuid.uuid4()}"
    started, release = threading.Event(), threading.Event()

    def blocking():
        started.set()
        return release.wait(30)

    parent_call = threading.Thread(target=lambda: asyncio.run(threads.in_thread(blocking, key)))
    parent_call.start()
    try:
        assert started.wait(30)

        def check() -> bool:
            return asyncio.run(asyncio.wait_for(threads.in_thread(lambda: 2, key), 20)) == 2

        assert _in_forked_child(check) == 0
    finally:
        release.set()
        parent_call.join(30)


def test_a_forked_child_does_not_count_its_parents_gate_slots():
    """A slot the parent holds (its call's thread stays behind at fork) must not fill
    the model's gate in the child forever."""
    key = f"gated-{uuid.uuid4()}"
    held = asyncio.run(gate_for(key, 1).acquire())
    try:

        def check() -> bool:
            async def take() -> bool:
                slot = await asyncio.wait_for(gate_for(key, 1).acquire(), 20)
                slot.release()
                return True

            return asyncio.run(take())

        assert _in_forked_child(check) == 0
    finally:
        held.release()


@pytest.mark.asyncio
async def test_calls_hung_on_one_model_never_hold_back_another_models(monkeypatch):
    monkeypatch.setattr(threads, "THREADS_PER_MODEL", 2)
    hung, other = f"hung-{uuid.uuid4()}", f"other-{uuid.uuid4()}"
    release = threading.Event()
    running = threading.Semaphore(0)

    def blocking():
        running.release()
        return release.wait(30)

    given_up = [asyncio.ensure_future(threads.in_thread(blocking, hung)) for _ in range(2)]
    for _ in given_up:
        assert await asyncio.to_thread(running.acquire, True, 30)
    for call in given_up:
        call.cancel()
    await asyncio.gather(*given_up, return_exceptions=True)
    late = asyncio.ensure_future(threads.in_thread(lambda: "late", hung))
    try:
        assert await threads.in_thread(lambda: "answered", other) == "answered"
        assert not late.done()  # the hung model's own allowance is spent: its next call waits
    finally:
        release.set()
    assert await late == "late"


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


def _while_a_member_call_runs(host: Callable[[], None], member: Callable[[], None] = lambda: None) -> None:
    """Run `host` in this (the host's) thread while a guarded call is in flight in
    another thread; `member` runs in the call after `host` did."""
    entered, host_done = threading.Event(), threading.Event()

    def call():
        with stdio.guarded("member"):
            entered.set()
            assert host_done.wait(30)
            member()

    thread = threading.Thread(target=call)
    thread.start()
    assert entered.wait(30)
    host()
    host_done.set()
    thread.join(30)


def test_a_host_redirect_made_while_calls_run_is_left_alone_and_blames_nobody(caplog):
    original, buffer = sys.stdout, io.StringIO()

    def redirect():
        sys.stdout = buffer

    try:
        with caplog.at_level(logging.WARNING):
            _while_a_member_call_runs(redirect)
        assert sys.stdout is buffer
        assert caplog.records == []
    finally:
        sys.stdout = original


def test_a_member_redirect_after_the_hosts_own_is_put_back_to_the_hosts(caplog):
    original, buffer = sys.stdout, io.StringIO()
    with open(os.devnull, "w") as null:

        def redirect():
            sys.stdout = buffer

        def silence():
            sys.stdout = null

        try:
            with caplog.at_level(logging.WARNING):
                _while_a_member_call_runs(redirect, silence)
            assert sys.stdout is buffer
            assert ["member" in r.getMessage() for r in caplog.records] == [True]
        finally:
            sys.stdout = original


@pytest.mark.asyncio
async def test_more_than_eight_calls_to_one_model_run_at_once():
    """Sixteen copies of one model (`-m m:16`) run together: the thread allowance is
    a plain capacity, not a window that starts at 8 (the barrier's 20 s is a hang guard)."""
    key = f"copies-{uuid.uuid4()}"
    together = threading.Barrier(16, timeout=20)
    answers = await asyncio.gather(*(threads.in_thread(together.wait, key) for _ in range(16)))
    assert sorted(answers) == list(range(16))


@pytest.mark.asyncio
async def test_a_cancelled_wait_for_the_thread_allowance_passes_its_turn_on(monkeypatch):
    monkeypatch.setattr(threads, "THREADS_PER_MODEL", 1)
    key = f"turns-{uuid.uuid4()}"
    release = threading.Event()
    first = asyncio.ensure_future(threads.in_thread(lambda: release.wait(30), key))
    waiting = asyncio.ensure_future(threads.in_thread(lambda: "never", key))
    third = asyncio.ensure_future(threads.in_thread(lambda: "third", key))
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    assert await first is True
    assert await third == "third"
    assert waiting.cancelled()

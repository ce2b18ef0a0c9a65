"""The per-model gate: a fixed cap, the learned window (`test_window` tests its rules), fairness, cancellation, and use
from several event loops and threads at once."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from llm_consortium.calls.gate import ModelGate, Slot, current_slot, gate_for, reset_gates
from llm_consortium.calls.window import INITIAL, PROBE_ROUNDS

from helpers import Clock


def run(coro):
    return asyncio.run(coro)


async def take(gate: ModelGate, n: int) -> list[Slot]:
    return [await gate.acquire() for _ in range(n)]


async def settle() -> None:
    """Let every ready callback on this loop run (no timing involved)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_model_never_refused_has_eight_in_flight_until_a_window_of_them_succeeded():
    """Slow start: the ninth call waits, not for a refusal but for eight successes."""

    async def scenario():
        gate = ModelGate()
        slots = await take(gate, INITIAL)
        assert gate.limit is None and gate.lowest is None and all(slot.waited == 0 for slot in slots)
        for slot in slots[:-1]:
            gate.succeeded(slot)
            slot.release()
            slots.append(await gate.acquire())  # each freed slot is taken again: still full
        ninth = asyncio.ensure_future(gate.acquire())
        await settle()
        assert not ninth.done() and gate.in_flight == INITIAL
        gate.succeeded(slots[INITIAL - 1])  # a window's worth: it doubles
        slots.append(await ninth)
        assert gate.in_flight == INITIAL + 1 and gate.limit is None  # growing is no learned limit
        for slot in slots:
            slot.release()
        assert gate.in_flight == 0

    run(scenario())


def test_cap_holds_calls_back_until_a_slot_is_released(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("llm_consortium.calls.gate.time", clock)

    async def scenario():
        gate = ModelGate(2)
        first, second = await take(gate, 2)
        third = asyncio.ensure_future(gate.acquire())
        await settle()
        assert not third.done() and gate.in_flight == 2
        clock.advance(1.5)
        first.release()
        slot = await third
        assert gate.in_flight == 2
        assert (first.waited, slot.waited) == (0.0, 1.5)  # only the queued one waited
        second.release()
        slot.release()
        assert gate.in_flight == 0

    run(scenario())


def test_release_is_idempotent():
    async def scenario():
        gate = ModelGate(1)
        (slot,) = await take(gate, 1)
        slot.release()
        slot.release()
        assert gate.in_flight == 0 and slot.released
        (again,) = await take(gate, 1)
        assert gate.in_flight == 1
        again.release()

    run(scenario())


def test_waiters_are_served_first_come_first_served():
    async def scenario():
        gate = ModelGate(1)
        (held,) = await take(gate, 1)
        order: list[int] = []

        async def waiter(n: int) -> None:
            slot = await gate.acquire()
            order.append(n)
            slot.release()

        tasks = [asyncio.ensure_future(waiter(n)) for n in range(5)]
        await settle()
        held.release()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4]

    run(scenario())


def test_a_refusal_halves_the_limit_and_new_successes_grow_it_back_toward_the_ceiling():
    async def scenario():
        gate = ModelGate(8)
        slots = await take(gate, 8)
        gate.rate_limited(slots[0])
        assert gate.limit == 4 and gate.lowest == 4
        for slot in slots[:4]:
            slot.release()
        for slot in slots[4:]:  # sent in the window that was refused: they teach nothing
            gate.succeeded(slot)
        assert gate.limit == 4
        for slot in slots[4:]:
            slot.release()
        held = await take(gate, 4)
        for _ in range(3):  # refused at 8: back to 7 by one per success
            gate.succeeded(held[0])
            held.append(await gate.acquire())
        assert gate.limit == 7 and gate.in_flight == 7
        for _ in range(7 * PROBE_ROUNDS - 1):
            gate.succeeded(held[0])
        assert gate.limit == 7  # at ceiling - 1 it waits PROBE_ROUNDS round trips
        gate.succeeded(held[0])
        assert gate.limit == 8  # the cap
        for slot in held:
            slot.release()

    run(scenario())


def test_halving_never_goes_below_one():
    async def scenario():
        gate = ModelGate()
        (slot,) = await take(gate, 1)
        for _ in range(4):
            gate.rate_limited()
        assert gate.limit == 1 and gate.lowest == 1
        slot.release()

    run(scenario())


def test_unlimited_gate_learns_a_limit_from_what_was_in_flight():
    async def scenario():
        gate = ModelGate()
        slots = await take(gate, 6)
        gate.rate_limited(slots[0])
        assert gate.limit == 3
        for slot in slots:
            slot.release()

    run(scenario())


def test_one_burst_of_refusals_halves_once():
    """Calls that started before the last decrease were refused for the old limit:
    halving again for each would collapse the limit to 1 for one burst."""

    async def scenario():
        gate = ModelGate()
        slots = await take(gate, 8)
        for slot in slots[:3]:
            gate.rate_limited(slot)
        assert gate.limit == 4
        for slot in slots:
            slot.release()
        (later,) = await take(gate, 1)
        gate.rate_limited(later)  # a call started after the decrease counts again
        assert gate.limit == 1  # only one was in flight
        later.release()

    run(scenario())


def test_success_below_the_limit_does_not_grow_it():
    """Growth only when the limit was what held calls back, so a quiet spell does
    not build up a limit that the next burst then hammers the provider with."""

    async def scenario():
        gate = ModelGate()
        slots = await take(gate, 4)
        gate.rate_limited()
        assert gate.limit == 2
        for slot in slots:
            slot.release()
        (one,) = await take(gate, 1)
        for _ in range(5):
            gate.succeeded()
        assert gate.limit == 2
        one.release()

    run(scenario())


def test_a_grown_limit_lets_waiters_in():
    async def scenario():
        gate = ModelGate()
        old = await take(gate, 4)
        gate.rate_limited(old[0])
        assert gate.limit == 2
        for slot in old:
            slot.release()
        slots = await take(gate, 2)
        waiting = asyncio.ensure_future(gate.acquire())
        await settle()
        assert not waiting.done()
        gate.succeeded(slots[0])  # a full window, below the ceiling: grows to 3
        slots.append(await waiting)
        assert gate.in_flight == 3 and gate.limit == 3
        for slot in slots:
            slot.release()

    run(scenario())


def test_a_cancelled_waiter_leaves_the_queue_and_holds_nothing():
    async def scenario():
        gate = ModelGate(1)
        (held,) = await take(gate, 1)
        waiting = asyncio.ensure_future(gate.acquire())
        await settle()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        held.release()
        assert gate.in_flight == 0
        (slot,) = await take(gate, 1)
        slot.release()

    run(scenario())


def test_a_waiter_cancelled_just_as_it_was_granted_gives_the_slot_back():
    async def scenario():
        gate = ModelGate(1)
        (held,) = await take(gate, 1)
        waiting = asyncio.ensure_future(gate.acquire())
        await settle()
        held.release()  # grants the slot to the waiter; its wake-up is scheduled
        waiting.cancel()  # ...but it is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert gate.in_flight == 0

    run(scenario())


def test_wait_for_timeout_while_queued_releases_nothing_it_did_not_take():
    async def scenario():
        gate = ModelGate(1)
        (held,) = await take(gate, 1)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(gate.acquire(), 0)
        assert gate.in_flight == 1
        held.release()
        assert gate.in_flight == 0

    run(scenario())


def test_one_gate_serves_several_event_loops_in_threads():
    """Many loops in many threads share one gate with a cap of 2: never more than two
    hold a slot at once, and every call gets one."""
    gate = ModelGate(2)
    lock = threading.Lock()
    holding = 0
    most = 0
    done = 0

    async def calls() -> None:
        nonlocal holding, most, done
        for _ in range(20):
            slot = await gate.acquire()
            with lock:
                holding += 1
                most = max(most, holding)
            await asyncio.sleep(0)
            with lock:
                holding -= 1
                done += 1
            slot.release()

    threads = [threading.Thread(target=asyncio.run, args=(calls(),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done == 120 and most <= 2 and gate.in_flight == 0


def test_release_from_another_thread_wakes_a_waiter_on_its_loop():
    async def scenario():
        gate = ModelGate(1)
        (held,) = await take(gate, 1)
        waiting = asyncio.ensure_future(gate.acquire())
        await settle()
        thread = threading.Thread(target=held.release)
        thread.start()
        slot = await waiting
        thread.join()
        assert gate.in_flight == 1
        slot.release()

    run(scenario())


def test_a_waiter_whose_loop_closed_does_not_keep_a_slot(caplog):
    gate = ModelGate(1)
    held = run(gate.acquire())

    loop = asyncio.new_event_loop()
    task = loop.create_task(gate.acquire())
    loop.run_until_complete(asyncio.sleep(0))
    assert not task.done()
    loop.close()  # abandoned with the waiter still queued

    held.release()
    assert gate.in_flight == 0
    slot = run(gate.acquire())
    slot.release()
    task.get_coro().close()  # what garbage collection would do to the abandoned task
    assert gate.in_flight == 0
    del task
    gc.collect()  # asyncio logs the pending task now, into caplog, not after the test


def test_gate_for_shares_one_gate_per_model_with_each_configurations_cap():
    reset_gates()
    try:
        a4, a2 = gate_for("model-a", 4), gate_for("model-a", 2)
        assert a4.gate is a2.gate is gate_for("model-a").gate
        assert gate_for("model-b", 3).gate is not a4.gate
        assert (a4.limit, a2.limit, gate_for("model-a").limit) == (4, 2, None)
    finally:
        reset_gates()


def test_each_configuration_keeps_its_own_cap_on_a_shared_model():
    """A cap is a promise that the model never sees more calls than it while that
    configuration's call runs: a call under cap 1 waits for every other call to the
    model, a call under cap 3 starts beside two others. Raising a cap (a YAML edit in a
    long-lived process) applies to the next call made under the new cap."""

    async def scenario():
        reset_gates()
        one, three = gate_for("m", 1), gate_for("m", 3)
        first = await three.acquire()
        blocked = asyncio.ensure_future(one.acquire())
        second = await three.acquire()  # the cap-1 waiter does not hold back cap 3
        await settle()
        assert not blocked.done() and three.gate.in_flight == 2
        first.release()
        await settle()
        assert not blocked.done()  # one call is still in flight: cap 1 still waits
        second.release()
        slot = await blocked
        assert three.gate.in_flight == 1
        slot.release()
        raised = gate_for("m", 2)
        taken = [await raised.acquire(), await raised.acquire()]
        assert raised.gate.in_flight == 2
        for held in taken:
            held.release()

    try:
        run(scenario())
    finally:
        reset_gates()


def test_max_concurrent_must_be_positive():
    with pytest.raises(ValueError):
        ModelGate(0)


def test_current_slot_is_per_context():
    assert current_slot.get() is None

    async def scenario():
        gate = ModelGate()
        slot = await gate.acquire()
        token = current_slot.set(slot)
        seen = await asyncio.ensure_future(asyncio.sleep(0, result=current_slot.get()))
        current_slot.reset(token)
        slot.release()
        return slot, seen

    slot, seen = run(scenario())
    assert seen is slot and current_slot.get() is None


def test_a_call_given_up_on_leaves_the_window_but_not_the_cap():
    """Its thread still runs on the model (the cap keeps it), but the run is done with
    it: it no longer fills the learned window that other calls wait on."""

    async def scenario():
        gate = ModelGate()
        slots = await take(gate, INITIAL)
        ninth = asyncio.ensure_future(gate.acquire())
        await settle()
        assert not ninth.done()
        slots[0].detach()
        slots.append(await ninth)
        assert gate.in_flight == INITIAL + 1
        capped = ModelGate(1)
        held = await capped.acquire()
        held.detach()
        second = asyncio.ensure_future(capped.acquire())
        await settle()
        assert not second.done()  # one call at a time on that model, whatever the run gave up
        held.release()
        (await second).release()
        for slot in slots:
            slot.release()
        assert gate.in_flight == 0

    run(scenario())

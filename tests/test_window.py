"""The learned window's rules (`calls/window.py`), and what they buy against a provider
that takes a fixed number of calls at once: few refusals, the provider kept busy."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_consortium.calls.window import FORGET_AFTER, INITIAL, MAX_PROBE_DOUBLINGS, PROBE_ROUNDS, Window


def test_slow_start_doubles_a_full_window_each_round_trip():
    window = Window()
    assert window.size == INITIAL and window.limit is None
    for _ in range(INITIAL):  # one round trip of a full window
        window.success(held=window.size)
    assert window.size == 2 * INITIAL and window.limit is None


def test_a_full_window_whose_calls_end_together_still_doubles_while_calls_wait():
    """Sixteen copies of one model: eight run, eight wait. The eight end together, so
    each success but the first sees fewer in flight; the waiting ones are demand."""
    window = Window()
    for ended in range(INITIAL):
        window.success(held=INITIAL - ended, waiting=INITIAL)
    assert window.size == 2 * INITIAL


def test_successes_below_a_full_window_teach_nothing():
    window = Window()
    for _ in range(50):
        window.success(held=INITIAL - 1)
    assert window.size == INITIAL


def test_a_refusal_halves_once_per_burst_and_the_burst_sets_the_ceiling():
    """Eight in flight, four refused (however late the refusals trickle in): the
    provider took four, and the window never stays above that."""
    window = Window()
    epoch = window.epoch  # all eight started in it
    for _ in range(4):
        window.refusal(held=8, started_epoch=epoch, now=0.0)
    assert (window.size, window.ceiling, window.lowest) == (4, 5, 4)
    assert window.limit == 4 and window.epoch == epoch + 1


def test_a_burst_never_leaves_the_window_above_what_the_provider_held():
    window = Window(size=48)
    epoch = window.epoch
    for _ in range(44):
        window.refusal(held=48, started_epoch=epoch, now=0.0)
    assert window.size == 4 and window.ceiling == 5


def test_a_new_refusal_after_the_decrease_halves_again():
    window = Window()
    window.refusal(held=8, started_epoch=0, now=0.0)
    window.refusal(held=4, started_epoch=window.epoch, now=1.0)
    assert (window.size, window.ceiling) == (2, 4)


def test_recovery_is_quick_up_to_just_below_the_ceiling_then_the_ceiling_is_tried_rarely():
    window = Window()
    window.refusal(held=8, started_epoch=0, now=0.0)  # size 4, ceiling 8
    window.success(held=8, started_epoch=0)  # sent in the refused window: nothing learned
    assert window.size == 4
    for expected in (5, 6, 7):
        window.success(held=window.size, started_epoch=window.epoch)
        assert window.size == expected
    for _ in range(7 * PROBE_ROUNDS - 1):
        window.success(held=7, started_epoch=window.epoch)
    assert window.size == 7
    window.success(held=7, started_epoch=window.epoch)
    assert window.size == 8 and window.ceiling == 8
    window.success(held=8, started_epoch=window.epoch)  # the provider took 8 after all
    assert window.ceiling is None and window.size == 8
    for _ in range(8):  # past the old ceiling: one per round trip
        window.success(held=8, started_epoch=window.epoch)
    assert window.size == 9


def successes_before_trying_the_ceiling(window: Window) -> int:
    """Successes of a full window at ceiling - 1 until the window tries the ceiling."""
    tried = 0
    while window.size < window.ceiling:
        window.success(held=window.size, started_epoch=window.epoch)
        tried += 1
    return tried


def test_each_try_at_the_ceiling_refused_again_doubles_the_wait_before_the_next():
    """A provider whose limit holds still is asked less and less often."""
    window = Window(size=4)
    window.refusal(held=4, started_epoch=0, now=0.0)
    window.refusal(held=4, started_epoch=0, now=0.0)  # four sent, two taken: ceiling 3, window 2
    assert (window.size, window.ceiling) == (2, 3)
    waits = []
    for _ in range(MAX_PROBE_DOUBLINGS + 2):
        waits.append(successes_before_trying_the_ceiling(window))
        window.refusal(held=3, started_epoch=window.epoch, now=1.0)  # the try at 3: refused again
        assert (window.size, window.ceiling) == (2, 3)
    assert waits == [2 * PROBE_ROUNDS * 2**n for n in range(MAX_PROBE_DOUBLINGS + 1)] + [2 * PROBE_ROUNDS * 2**MAX_PROBE_DOUBLINGS]
    successes_before_trying_the_ceiling(window)
    window.success(held=3, started_epoch=window.epoch)  # the provider took 3 this time: the limit moved
    assert window.ceiling is None and window.probes == 0


def test_a_try_at_the_ceiling_refused_keeps_the_ceiling_though_calls_ended_before_it_was_heard():
    window = Window(size=4)
    window.refusal(held=4, started_epoch=0, now=0.0)
    window.refusal(held=4, started_epoch=0, now=0.0)  # ceiling 3, window 2
    successes_before_trying_the_ceiling(window)
    window.refusal(held=1, started_epoch=window.epoch, now=1.0)  # two of the three ended before the 429 was heard
    assert (window.size, window.ceiling) == (2, 3)


def test_what_was_learned_is_forgotten_an_hour_after_the_last_refusal():
    window = Window()
    window.refusal(held=8, started_epoch=0, now=100.0)
    assert not window.forget_if_stale(100.0 + FORGET_AFTER)
    assert window.forget_if_stale(100.0 + FORGET_AFTER + 1)
    assert (window.size, window.limit, window.ceiling) == (INITIAL, None, None)
    assert window.lowest == 4 and window.epoch == 1  # the past stays the past


def simulate(slots: int, callers: int, successes: int, seed: int) -> tuple[int, int, float]:
    """Closed loop: `callers` each send a call as soon as the window has room, to a
    provider that takes `slots` at once and refuses the rest at once. Calls take
    1–3 ticks. Returns (refusals before the 100th success, refusals after it, the
    mean share of the provider's slots in use per tick after it)."""
    rng = random.Random(seed)
    window = Window()
    running: list[tuple[int, int]] = []  # (ends at tick, epoch it started in)
    early = late = done = tick = busy = ticks = 0
    while done < successes:
        tick += 1
        for call in [c for c in running if c[0] <= tick]:
            window.success(held=len(running), started_epoch=call[1])
            running.remove(call)
            done += 1
        waiting = callers - len(running)
        while waiting and window.has_room(len(running)):
            waiting -= 1
            if len(running) < slots:
                running.append((tick + rng.randint(1, 3), window.epoch))
            else:
                early, late = (early + 1, late) if done < 100 else (early, late + 1)
                window.refusal(held=len(running) + 1, started_epoch=window.epoch, now=float(tick))
        if done >= 100:
            busy, ticks = busy + len(running), ticks + 1
    return early, late, busy / max(1, ticks) / slots


@settings(max_examples=60, deadline=None)
@given(slots=st.integers(1, 12), extra=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_against_a_fixed_limit_refusals_are_rare_and_the_provider_stays_busy(slots, extra, seed):
    """More callers than the provider takes: once learned, about one refusal per
    PROBE_ROUNDS round trips (plain AIMD: one every few), and the provider's slots
    at least 90 % in use."""
    early, late, in_use = simulate(slots, slots + extra, successes=2000, seed=seed)
    assert early <= max(0, INITIAL - slots) + 2 * 100 / (slots * PROBE_ROUNDS) + 2  # the first window's excess
    assert late <= 2 * 1900 / (slots * PROBE_ROUNDS) + 2
    assert in_use >= 0.9  # the remembered ceiling: 0.97 or more here; plain AIMD stays at 0.82–0.88

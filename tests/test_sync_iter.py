"""iterate_sync: an async generator consumed from sync code, item by item, while it runs."""

from __future__ import annotations

import asyncio
import threading

import pytest

from llm_consortium.adapter.sync_iter import iterate_sync


def test_items_arrive_while_the_generator_is_still_running():
    took_first = threading.Event()

    async def produce():
        yield "first"
        # Only the consumer having taken "first" lets the generator go on.
        await asyncio.to_thread(took_first.wait)
        yield "second"

    chunks = iterate_sync(produce)
    assert next(chunks) == "first"
    took_first.set()
    assert list(chunks) == ["second"]


def test_an_error_is_raised_unchanged_without_chained_noise():
    async def produce():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom") as info:
        for item in iterate_sync(produce):
            got.append(item)
    assert got == [1]
    assert info.value.__context__ is None


def test_breaking_off_cancels_the_generator_and_waits_for_it():
    cleaned = threading.Event()

    async def produce():
        try:
            while True:
                yield "x"
                await asyncio.sleep(0)
        finally:
            cleaned.set()

    chunks = iterate_sync(produce)
    assert next(chunks) == "x"
    chunks.close()
    assert cleaned.is_set()


def test_runs_on_a_given_loop_and_inside_a_running_one():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen_loops = []

    async def produce():
        seen_loops.append(asyncio.get_running_loop())
        yield "a"

    try:
        assert list(iterate_sync(produce, loop)) == ["a"]
        assert seen_loops == [loop]

        async def inside():
            # Called from a coroutine: the caller's own loop cannot serve it.
            return list(iterate_sync(produce, asyncio.get_running_loop()))

        assert asyncio.run(inside()) == ["a"]
        assert seen_loops[1] is not loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

"""Timed waits: set, timed out, and a cancellation that always reaches the waiter."""
from __future__ import annotations

import asyncio

import pytest

from chain.timed_wait import wait_done, wait_event


def test_wait_event_is_true_once_set_and_false_after_the_timeout() -> None:
    async def scenario() -> None:
        event = asyncio.Event()
        assert not await wait_event(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        assert await wait_event(event, 5)
        assert await wait_event(event, None)

    asyncio.run(scenario())


def test_wait_done_cancels_what_did_not_finish_in_time() -> None:
    async def scenario() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        assert not await wait_done(future, 0.01)
        assert future.cancelled()
        assert await wait_done(asyncio.sleep(0), 1)

    asyncio.run(scenario())


@pytest.mark.parametrize("spins", [0, 1, 2, 3])
def test_a_cancel_that_meets_the_event_still_stops_a_waiting_loop(spins: int) -> None:
    """The race asyncio.wait_for loses on 3.11 (every time for 0-2 spins): the event fires, then the loop is
    cancelled before it resumes; wait_for returns as if nothing happened and the loop never ends."""
    async def scenario() -> None:
        for _ in range(50):
            event = asyncio.Event()

            async def loop() -> None:
                while True:
                    await wait_event(event, 10)
                    event.clear()

            task = asyncio.create_task(loop())
            await asyncio.sleep(0)
            event.set()
            for _ in range(spins):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            assert task in done and task.cancelled()

    asyncio.run(scenario())

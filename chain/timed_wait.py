"""Waiting with a timeout that never loses a cancellation.

asyncio.wait_for on Python 3.11 can swallow a cancellation that arrives just
as the awaited event fires or its timeout expires (CPython gh-86296, fixed in
3.12 by rebuilding it on asyncio.timeout). A loop that waits that way may then
ignore the cancel that is meant to stop it, and whoever awaits its end (a node
shutting down) waits forever. asyncio.timeout has no such window.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until event is set or timeout seconds pass (None: no limit); True iff it is set."""
    if timeout is None:
        await event.wait()
        return True
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        pass
    return event.is_set()


async def wait_done(awaitable: Awaitable[Any], timeout: float) -> bool:
    """Await something for at most timeout seconds (it is cancelled if the time runs out); True iff it finished."""
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await awaitable
    except TimeoutError:
        return False
    return True

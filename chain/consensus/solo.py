"""Solo consensus: the single validator of a development ledger orders, executes, signs and commits.

It is the degenerate case of the BFT protocol (n = 1, quorum = 1) behind the
same interface, so the node, mempool and clients do not change when a ledger
moves to several validators.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from chain.consensus.interfaces import ConsensusEngineAPI
from chain.timed_wait import wait_event

log = logging.getLogger(__name__)


class SoloEngine(ConsensusEngineAPI):
    """Produces a block whenever transactions wait, at most every interval_ms (sooner when a block is full)."""

    def __init__(self, produce: Callable[[], Awaitable[int]], pending: Callable[[], int], interval_ms: int, full: int) -> None:
        self._produce = produce
        self._pending = pending
        self.interval = interval_ms / 1000
        self.full = full
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="solo-consensus")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    def transactions_arrived(self) -> None:
        if self._pending() >= self.full:
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            if self._pending():
                try:
                    await self._produce()
                except Exception:  # keep the ledger alive; the failure is logged with its block
                    log.exception("block production failed")
                    await asyncio.sleep(self.interval)
            if self._pending() >= self.full:
                continue
            delay = max(0.0, self.interval - (loop.time() - started))
            await wait_event(self._wake, delay)
            self._wake.clear()

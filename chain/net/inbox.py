"""The bounded queue of received messages; a full inbox stops reading from sockets (TCP backpressure)."""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from chain.net.errors import NotRunningError


@dataclass(frozen=True)
class Message:
    """A payload received from an authenticated peer."""

    node_id: str
    payload: bytes


class Inbox:
    """FIFO of Messages bounded by count and bytes; put waits while full (one oversized message fits when empty)."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: deque[Message] = deque()
        self.bytes = 0
        self._changed = asyncio.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def _has_room(self, size: int) -> bool:
        if not self._items:
            return True
        return len(self._items) < self.max_messages and self.bytes + size <= self.max_bytes

    async def put(self, message: Message) -> None:
        """Append, waiting for room; raise NotRunningError once closed."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or self._has_room(len(message.payload)))
            if self._closed:
                raise NotRunningError("the inbox is closed")
            self._items.append(message)
            self.bytes += len(message.payload)
            self._changed.notify_all()

    async def get(self) -> Message:
        """The oldest message, waiting for one; NotRunningError once closed and drained."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or bool(self._items))
            if not self._items:
                raise NotRunningError("the network is stopped")
            message = self._items.popleft()
            self.bytes -= len(message.payload)
            self._changed.notify_all()
            return message

    async def close(self) -> None:
        """Wake every waiter; queued messages can still be read."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

"""The bounded per-connection send queue, with two priorities.

When a message does not fit (count or bytes), the oldest LOW messages are
dropped to make room. A LOW message that still does not fit is itself dropped.
A HIGH message that still does not fit means the peer cannot keep up: the
caller closes the connection (`Overflow.CLOSE`).
"""
from __future__ import annotations

import enum
from collections import deque


class Priority(enum.IntEnum):
    """HIGH for messages that must not be skipped (votes, proposals); LOW for those that may (gossip)."""

    HIGH = 0
    LOW = 1


class Overflow(enum.Enum):
    """What push did."""

    QUEUED = "queued"
    DROPPED = "dropped"  # the new LOW message was dropped
    CLOSE = "close"  # a HIGH message did not fit: the connection must be dropped


class SendQueue:
    """FIFO per priority, HIGH served first; bounded by message count and total bytes."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._queues: tuple[deque[bytes], deque[bytes]] = (deque(), deque())
        self.bytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queues[0]) + len(self._queues[1])

    def _fits(self, size: int) -> bool:
        return len(self) < self.max_messages and self.bytes + size <= self.max_bytes

    def push(self, frame: bytes, priority: Priority = Priority.HIGH) -> Overflow:
        """Queue frame, evicting the oldest LOW frames if needed."""
        size = len(frame)
        low = self._queues[Priority.LOW]
        while not self._fits(size) and low:
            self.bytes -= len(low.popleft())
            self.dropped += 1
        if not self._fits(size):
            if priority is Priority.LOW:
                self.dropped += 1
                return Overflow.DROPPED
            return Overflow.CLOSE
        self._queues[priority].append(frame)
        self.bytes += size
        return Overflow.QUEUED

    def pop_many(self, max_bytes: int) -> list[bytes]:
        """The next frames to write together, HIGH first, as many as fit in max_bytes (at least one if any)."""
        frames: list[bytes] = []
        size = 0
        for queue in self._queues:
            while queue and (not frames or size + len(queue[0]) <= max_bytes):
                frame = queue.popleft()
                frames.append(frame)
                size += len(frame)
            if queue:
                break  # a HIGH frame that did not fit goes first next time, before any LOW one
        self.bytes -= size
        return frames

    def clear(self) -> None:
        """Forget everything queued."""
        for queue in self._queues:
            queue.clear()
        self.bytes = 0

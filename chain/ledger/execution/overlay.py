"""Overlay: uncommitted writes over a readable state, nestable so a failed transaction rolls back alone."""
from __future__ import annotations

from typing import Protocol


class StateReader(Protocol):
    """Anything that answers get(state_key) -> value bytes or None."""

    def get(self, key: bytes) -> bytes | None: ...


class Overlay:
    """Buffered writes (None = delete) over a reader; read-your-writes; deterministic write order."""

    def __init__(self, base: StateReader) -> None:
        self.base = base
        self.writes: dict[bytes, bytes | None] = {}
        self.reads: set[bytes] = set()

    def get(self, key: bytes) -> bytes | None:
        """The value as this overlay sees it."""
        if key in self.writes:
            return self.writes[key]
        self.reads.add(key)
        return self.base.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        """Buffer a write."""
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        """Buffer a delete."""
        self.writes[key] = None

    def child(self) -> Overlay:
        """A nested overlay whose writes reach this one only on merge."""
        return Overlay(self)

    def merge_into(self, parent: Overlay) -> None:
        """Apply this overlay's writes to its parent."""
        parent.writes.update(self.writes)

"""Overlay: uncommitted writes over a readable state, nestable so a failed transaction rolls back alone."""
from __future__ import annotations

from typing import Protocol


class StateReader(Protocol):
    """Anything that answers get(state_key) -> value bytes or None."""

    def get(self, key: bytes) -> bytes | None: ...


class Overlay:
    """Buffered writes (None = delete) over a reader; read-your-writes; deterministic write order."""

    def __init__(self, base: StateReader, cache_base: bool = False) -> None:
        self.base = base
        self.writes: dict[bytes, bytes | None] = {}
        # A block's base is committed state, which cannot change while the block executes.
        self._cache: dict[bytes, bytes | None] | None = {} if cache_base else None
        # prefix -> the base holds no key under it (see get_sparse)
        self._empty: dict[bytes, bool] | None = {} if cache_base else None

    def get(self, key: bytes) -> bytes | None:
        """The value as this overlay sees it."""
        writes = self.writes
        if key in writes:
            return writes[key]
        cache = self._cache
        if cache is None:
            return self.base.get(key)
        if key in cache:
            return cache[key]
        value = cache[key] = self.base.get(key)
        return value

    def get_sparse(self, key: bytes, prefix: bytes) -> bytes | None:
        """get(key) for a key under prefix, a namespace that is usually empty (revocations): while the
        block's base holds nothing under prefix, only the buffered writes are consulted, sparing a store read."""
        writes = self.writes
        if key in writes:
            return writes[key]
        base = self.base
        if type(base) is Overlay:
            return base.get_sparse(key, prefix)
        if self._empty is not None and self._base_empty(self._empty, prefix):
            return None
        return self.get(key)

    def _base_empty(self, known: dict[bytes, bool], prefix: bytes) -> bool:
        """True if the (unchanging) base holds no key under prefix; False if unknown (the base cannot scan)."""
        empty = known.get(prefix)
        if empty is None:
            scan = getattr(self.base, "scan", None)
            empty = False
            if scan is not None:
                pairs = scan(prefix)
                empty = next(iter(pairs), None) is None
                close = getattr(pairs, "close", None)
                if close is not None:
                    close()  # release the store iterator now, not when the generator is collected
            known[prefix] = empty
        return empty

    def put(self, key: bytes, value: bytes) -> None:
        """Buffer a write."""
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        """Buffer a delete."""
        self.writes[key] = None

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Live (state_key, value) pairs under a prefix as this overlay sees them, sorted by key.

        The base must have a scan(prefix) of its own (StateStore and Overlay do);
        meant for small namespaces (participants), not for data accounts.
        """
        scan = getattr(self.base, "scan", None)
        if scan is None:
            raise TypeError(f"{type(self.base).__name__} cannot list keys")
        found = dict(scan(prefix))
        for key, value in self.writes.items():
            if key.startswith(prefix):
                if value is None:
                    found.pop(key, None)
                else:
                    found[key] = value
        return sorted(found.items())

    def child(self) -> Overlay:
        """A nested overlay whose writes reach this one only on merge."""
        return Overlay(self)

    def merge_into(self, parent: Overlay) -> None:
        """Apply this overlay's writes to its parent."""
        parent.writes.update(self.writes)

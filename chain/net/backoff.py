"""Exponential reconnect backoff with jitter; the random source is injectable for deterministic tests."""
from __future__ import annotations

import random
from typing import Callable

from chain.net.config import BackoffConfig


class Backoff:
    """delay(n) = min(maximum, base * factor**n) * (1 - jitter * r), r drawn from rand() in [0, 1)."""

    def __init__(self, config: BackoffConfig, rand: Callable[[], float] | None = None) -> None:
        self.config = config
        self._rand = rand or random.random
        self.attempt = 0

    def delay(self, attempt: int) -> float:
        """The delay before retry number `attempt` (0-based)."""
        cfg = self.config
        raw = cfg.maximum if attempt >= 64 else min(cfg.maximum, cfg.base * cfg.factor**attempt)
        return raw * (1.0 - cfg.jitter * self._rand())

    def next_delay(self) -> float:
        """The delay before the next retry; counts the failure."""
        value = self.delay(self.attempt)
        self.attempt += 1
        return value

    def reset(self) -> None:
        """A connection succeeded: start over from base."""
        self.attempt = 0

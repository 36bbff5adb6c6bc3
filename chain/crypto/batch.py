"""Batch signature verification spread over all cores with a process pool.

One signature per task costs more in pickling and scheduling than verifying it,
so a batch is cut into one equal share per process: cores-1 pool workers each
take a share and the calling process verifies the last share itself while they
run. Small batches are verified in-process, where a pool cannot win.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

from chain.crypto.verify import verify_encoded

log = logging.getLogger(__name__)

Item = tuple[bytes, bytes, bytes]  # (encoded public key, message, encoded signature)

DEFAULT_SERIAL_BELOW = 256


def verify_serial(items: Sequence[Item]) -> list[bool]:
    """Verify every item in this process."""
    return [verify_encoded(pub, msg, sig) for pub, msg, sig in items]


def _warm(_: int) -> int:
    return os.getpid()


class BatchVerifier:
    """Verifies lists of (public key, message, signature) on a pool of worker processes."""

    def __init__(self, workers: int | None = None, serial_below: int = DEFAULT_SERIAL_BELOW) -> None:
        self.workers = max(0, (os.cpu_count() or 1) - 1) if workers is None else workers
        self.serial_below = serial_below
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
                log.debug("batch verifier started %d workers", self.workers)
            return self._pool

    def start(self) -> None:
        """Start the worker processes now rather than on the first large batch."""
        if self.workers >= 1:
            list(self._executor().map(_warm, range(self.workers)))

    def verify(self, items: Sequence[Item]) -> list[bool]:
        """A verdict per item, in order."""
        if self.workers < 1 or len(items) < self.serial_below:
            return verify_serial(items)
        size = -(-len(items) // (self.workers + 1))
        parts = [list(items[i : i + size]) for i in range(0, len(items), size)]
        own = parts.pop()
        pool = self._executor()
        futures = [pool.submit(verify_serial, part) for part in parts]
        own_results = verify_serial(own)
        results: list[bool] = []
        for future in futures:
            results.extend(future.result())
        results.extend(own_results)
        return results

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    def __enter__(self) -> BatchVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

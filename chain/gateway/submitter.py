"""Coalesces concurrent submissions into a few node requests per ledger: while SENDERS requests are in flight,
the transactions that arrive meanwhile wait and go together in the next, so the node journals (fsyncs) once per
group instead of once per HTTP request. No artificial delay: an idle gateway forwards at once. Several groups are
in flight at a time because a node answers a group only after its synced journal write: with one, every
client waited for the previous group's fsync as well as its own."""
from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Callable

MAX_GROUP = 2_000
SENDERS = 4  # node requests in flight per ledger (each sender thread has its own node connection)


class Submitter:
    """SENDERS sender threads per ledger; callers block on a future for their transactions' verdicts."""

    def __init__(self, ledger: str, call: Callable[..., Any], senders: int = SENDERS) -> None:
        self.ledger = ledger
        self.call = call
        self._queue: list[tuple[list[bytes], Future[list[dict[str, Any]]]]] = []
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._run, name=f"submit-{ledger}-{i}", daemon=True)
                         for i in range(senders)]
        for thread in self._threads:
            thread.start()

    def submit(self, encoded: list[bytes]) -> list[dict[str, Any]]:
        """The node's verdicts for these transactions (in order); raises what the node call raised."""
        future: Future[list[dict[str, Any]]] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the gateway is shutting down")
            self._queue.append((encoded, future))
            self._ready.notify()
        return future.result()

    def _take(self) -> list[tuple[list[bytes], Future[list[dict[str, Any]]]]]:
        with self._ready:
            while not self._queue and not self._closed:
                self._ready.wait()
            taken: list[tuple[list[bytes], Future[list[dict[str, Any]]]]] = []
            size = 0
            while self._queue and (not taken or size + len(self._queue[0][0]) <= MAX_GROUP):
                item = self._queue.pop(0)
                taken.append(item)
                size += len(item[0])
            return taken

    def _run(self) -> None:
        while True:
            group = self._take()
            if not group:
                return
            encoded = [raw for txs, _ in group for raw in txs]
            try:
                verdicts = self.call("submit", ledger=self.ledger, transactions=encoded)
            except BaseException as exc:  # noqa: BLE001 - every waiting request gets the failure
                for _, future in group:
                    future.set_exception(exc)
                continue
            position = 0
            for txs, future in group:
                future.set_result(verdicts[position:position + len(txs)])
                position += len(txs)

    def close(self) -> None:
        """Stop after the queued groups are sent."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

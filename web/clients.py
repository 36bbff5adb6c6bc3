"""SDK clients for the web tier: the only way web/ reaches the chain (through a gateway, never a node).

A `requests` session is not meant to be shared between threads, and the
server answers requests on a thread pool, so each server thread gets its own
`chain.sdk.Client`, made on first use: a gateway that is down when the app
starts only fails the requests that need it, and they get a 503 page.

Proof pages share one light client (under a lock), so the headers it has
checked from genesis stay trusted; a page may ask for a new one instead, to
show a check from genesis again.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from chain.sdk import Client

PAGE_TIMEOUT_S = 15.0


class ClientPool:
    """Per-thread SDK clients for one ledger behind one gateway, and a shared prover."""

    def __init__(self, gateway_url: str, ledger: str, timeout_s: float = PAGE_TIMEOUT_S) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.ledger = ledger
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._prover: Client | None = None
        self._prover_lock = threading.Lock()

    def _new(self) -> Client:
        return Client(self.gateway_url, self.ledger, timeout_s=self.timeout_s)

    def get(self) -> Client:
        """This thread's client (connects on first use; raises requests' errors if the gateway is down)."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new()
        return client

    @contextmanager
    def prover(self, fresh: bool = False) -> Iterator[Client]:
        """The client whose light client checks proofs, held exclusively; `fresh` starts it again from genesis."""
        with self._prover_lock:
            if fresh or self._prover is None:
                self._prover = self._new()
            yield self._prover

"""Failover across the nodes a gateway may use: one connection per node and thread, next node on a transport failure."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from chain.gateway.errors import ApiError, unavailable
from chain.ledger.errors import ResultCode
from chain.node.client import NodeClient, NodeError
from chain.node.protocol import ProtocolError

log = logging.getLogger(__name__)

RETRY_DOWN_S = 2.0
_STATUS = {"not_found": 404, "busy": 503, "mempool_full": 503, "unknown_method": 501, "permission_denied": 403,
           "unknown_signer": 403, "signer_not_active": 403, "bad_signature": 403}
#: Every other ledger result code is something wrong with the request.
_CLIENT_ERRORS = {code.name.lower() for code in ResultCode} | {"invalid_argument"}


def status_of(code: str) -> int:
    """The HTTP status for a node's error code (502 for a failure inside the node)."""
    if code in _STATUS:
        return _STATUS[code]
    return 400 if code in _CLIENT_ERRORS else 502


def parse_address(text: str) -> tuple[str, int]:
    """host:port."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {text!r}")
    return host, int(port)


class NodePool:
    """Sends each request to the first node that answers; a node that failed is skipped for a while."""

    def __init__(self, addresses: list[str], timeout_s: float = 130.0) -> None:
        if not addresses:
            raise ValueError("a gateway needs at least one node address")
        self.addresses = [parse_address(a) for a in addresses]
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._down_until: dict[int, float] = {}
        self._preferred = 0

    def _client(self, index: int) -> NodeClient:
        clients: dict[int, NodeClient] = self._local.__dict__.setdefault("clients", {})
        client = clients.get(index)
        if client is None:
            host, port = self.addresses[index]
            client = clients[index] = NodeClient(host, port, timeout=self.timeout_s)
        return client

    def _drop(self, index: int) -> None:
        clients: dict[int, NodeClient] = self._local.__dict__.setdefault("clients", {})
        client = clients.pop(index, None)
        if client is not None:
            try:
                client.close()
            except OSError:
                pass

    def call(self, method: str, **params: Any) -> Any:
        """The first answer from a reachable node; node refusals become ApiErrors with the node's code."""
        now = time.monotonic()
        order = [(self._preferred + i) % len(self.addresses) for i in range(len(self.addresses))]
        order.sort(key=lambda i: self._down_until.get(i, 0) > now)  # nodes believed up first, in rotation order
        failures = []
        for index in order:
            try:
                result = self._client(index).call(method, **params)
            except NodeError as exc:
                raise ApiError(status_of(exc.code), exc.code, str(exc)) from None
            except (OSError, ProtocolError) as exc:
                self._drop(index)
                self._down_until[index] = time.monotonic() + RETRY_DOWN_S
                host, port = self.addresses[index]
                failures.append(f"{host}:{port}: {exc}")
                log.warning("node %s:%d failed (%s); trying the next", host, port, exc)
                continue
            self._preferred = index
            self._down_until.pop(index, None)
            return result
        raise unavailable("no node answered: " + "; ".join(failures))

    def close(self) -> None:
        """Close this thread's connections."""
        for index in list(self._local.__dict__.get("clients", {})):
            self._drop(index)

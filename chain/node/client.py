"""A small blocking client for the node's client port (used by the CLI and tests)."""
from __future__ import annotations

import itertools
import os
import socket
from typing import Any, Sequence

from chain.contracts import decode_value
from chain.crypto import PrivateKey, get_suite
from chain.ledger.operations import Operation
from chain.ledger.transaction import Transaction, TxContent
from chain.node.protocol import frame, recv_frame


class NodeError(Exception):
    """The node refused a request; `code` is its stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NodeClient:
    """One TCP connection to a node; requests are answered in order."""

    def __init__(self, host: str = "127.0.0.1", port: int = 7400, timeout: float = 130.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> Any:
        """Send one request and return its result, or raise NodeError."""
        request_id = next(self._ids)
        self.sock.sendall(frame([request_id, method, {k: v for k, v in params.items() if v is not None}]))
        response = recv_frame(self.sock)
        if not (isinstance(response, list) and len(response) == 3):
            raise NodeError("bad_response", "the node sent a malformed response")
        _, ok, body = response
        if not ok:
            raise NodeError(str(body[0]), str(body[1]))
        return body

    def status(self, ledger: str) -> dict[str, Any]:
        """The status of one hosted ledger."""
        for item in self.call("status")["ledgers"]:
            if item["name"] == ledger:
                return item  # type: ignore[no-any-return]
        raise NodeError("not_found", f"the node hosts no ledger named {ledger!r}")

    def build(self, ledger: str, ops: Sequence[Operation], signers: Sequence[PrivateKey], ttl: int = 100) -> Transaction:
        """A signed transaction for the ledger's current height."""
        status = self.status(ledger)
        content = TxContent(status["ledger_id"], os.urandom(16), status["height"] + ttl, tuple(ops))
        return Transaction.create(get_suite(status["suite"]), content, signers)

    def submit(self, ledger: str, txs: Sequence[Transaction]) -> list[dict[str, Any]]:
        """Submit signed transactions."""
        return self.call("submit", ledger=ledger, transactions=[t.encode() for t in txs])  # type: ignore[no-any-return]

    def wait(self, ledger: str, tx_hash: bytes, timeout_ms: int = 30_000) -> dict[str, Any]:
        """Wait for the outcome of a transaction."""
        return self.call("wait", ledger=ledger, tx_hash=tx_hash, timeout_ms=timeout_ms)  # type: ignore[no-any-return]

    def simulate(self, ledger: str, tx: Transaction, trace: bool = False, gas_limit: int | None = None,
                 version: int | None = None) -> list[dict[str, Any]]:
        """Dry-run a signed transaction of contract invocations; contract values come back decoded."""
        reports = self.call("simulate", ledger=ledger, transaction=tx.encode(), trace=trace, gas_limit=gas_limit, version=version)
        for report in reports:
            for name in ("value", "events", "reads", "writes"):
                report[name] = decode_value(report[name])
            report["steps"] = [[c, f, line, gas, decode_value(local)] for c, f, line, gas, local in report["steps"]]
        return reports  # type: ignore[no-any-return]

    def contract(self, ledger: str, name: str, version: int | None = None) -> dict[str, Any]:
        """A contract's record, IR text and ABI."""
        info = self.call("contract", ledger=ledger, name=name, version=version)
        info["code"] = info["code"].decode("utf-8")
        info["abi"] = decode_value(info["abi"])
        return info  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

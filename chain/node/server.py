"""The client port: dispatches protocol requests to the hosted ledgers."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from chain.codec import CodecError
from chain.ledger.errors import LedgerError
from chain.node.protocol import ProtocolError, frame, read_frame
from chain.node.service import LedgerService

log = logging.getLogger(__name__)

MAX_WAIT_S = 120.0
MAX_CONNECTIONS = 256  # each may buffer a frame of up to MAX_FRAME; this bounds the node's memory


class RequestError(Exception):
    """A request the node refuses; code and message go back to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _param(params: dict[str, Any], name: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    value = params.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise RequestError("invalid_argument", f"parameter {name!r} is missing or has the wrong type")
    return value


def _height_range(params: dict[str, Any]) -> tuple[int, int]:
    """The `first`..`last` heights of a ranged request."""
    first, last = _param(params, "first", int), _param(params, "last", int)
    if first < 0 or last < first:
        raise RequestError("invalid_argument", "'first' and 'last' must satisfy 0 <= first <= last")
    return first, last


class NodeServer:
    """Serves the client protocol for a set of ledger services."""

    def __init__(self, ledgers: dict[str, LedgerService], max_connections: int = MAX_CONNECTIONS) -> None:
        self.ledgers = ledgers
        self.max_connections = max_connections
        self.connections = 0
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "status": self._status, "submit": self._submit, "wait": self._wait, "outcome": self._outcome,
            "block": self._block, "transaction": self._transaction, "state": self._state, "history": self._history,
            "validators": self._validators, "headers": self._headers, "outcomes": self._outcomes, "snapshot": self._snapshot,
            "snapshot_chunk": self._snapshot_chunk, "simulate": self._simulate, "contract": self._contract,
            "wait_height": self._wait_height, "scan": self._scan,
        }

    def _ledger(self, params: dict[str, Any]) -> LedgerService:
        name = _param(params, "ledger", str)
        try:
            return self.ledgers[name]
        except KeyError:
            raise RequestError("not_found", f"this node hosts no ledger named {name!r}; it hosts {', '.join(self.ledgers)}") from None

    async def _status(self, params: dict[str, Any]) -> Any:
        return {"ledgers": [svc.status() for svc in self.ledgers.values()]}

    async def _submit(self, params: dict[str, Any]) -> Any:
        txs = _param(params, "transactions", list)
        if not txs or not all(isinstance(t, bytes) for t in txs) or len(txs) > 10_000:
            raise RequestError("invalid_argument", "'transactions' must be a list of 1..10000 byte strings")
        return await self._ledger(params).submit(txs)

    async def _wait(self, params: dict[str, Any]) -> Any:
        timeout = min(_param(params, "timeout_ms", int, optional=True) or 10_000, int(MAX_WAIT_S * 1000)) / 1000
        return await self._ledger(params).wait(_param(params, "tx_hash", bytes), timeout)

    async def _outcome(self, params: dict[str, Any]) -> Any:
        return self._ledger(params).outcome(_param(params, "tx_hash", bytes))

    async def _block(self, params: dict[str, Any]) -> Any:
        svc = self._ledger(params)
        height = _param(params, "height", int, optional=True)
        return svc.block(svc.chain.height if height is None else height)

    async def _transaction(self, params: dict[str, Any]) -> Any:
        return self._ledger(params).transaction(_param(params, "tx_hash", bytes))

    async def _state(self, params: dict[str, Any]) -> Any:
        return self._ledger(params).state(_param(params, "key", bytes), _param(params, "height", int, optional=True))

    async def _history(self, params: dict[str, Any]) -> Any:
        return self._ledger(params).history(_param(params, "key", bytes))

    async def _validators(self, params: dict[str, Any]) -> Any:
        return self._ledger(params).validators()

    async def _headers(self, params: dict[str, Any]) -> Any:
        first, last = _height_range(params)
        return self._ledger(params).headers(first, last)

    async def _outcomes(self, params: dict[str, Any]) -> Any:
        first, last = _height_range(params)
        return self._ledger(params).outcomes(first, last)

    async def _scan(self, params: dict[str, Any]) -> Any:
        prefix = _param(params, "prefix", bytes)
        after = _param(params, "after", bytes, optional=True)
        limit = _param(params, "limit", int, optional=True) or 100
        if not prefix or not 1 <= limit <= 1000 or after is not None and not after.startswith(prefix):
            raise RequestError("invalid_argument", "'prefix' must be non-empty, 'limit' 1..1000, 'after' under the prefix")
        svc = self._ledger(params)
        return await asyncio.get_running_loop().run_in_executor(svc.client_executor, svc.scan, prefix, after, limit)

    async def _wait_height(self, params: dict[str, Any]) -> Any:
        timeout = min(_param(params, "timeout_ms", int, optional=True) or 10_000, int(MAX_WAIT_S * 1000)) / 1000
        return {"height": await self._ledger(params).wait_height(_param(params, "height", int), max(timeout, 0))}

    async def _simulate(self, params: dict[str, Any]) -> Any:
        svc = self._ledger(params)
        tx = _param(params, "transaction", bytes)
        trace = _param(params, "trace", bool, optional=True) or False
        gas_limit = _param(params, "gas_limit", int, optional=True)
        version = _param(params, "version", int, optional=True)
        if gas_limit is not None and gas_limit <= 0 or version is not None and version < 0:
            raise RequestError("invalid_argument", "'gas_limit' must be positive and 'version' not negative")
        return await asyncio.get_running_loop().run_in_executor(svc.client_executor, svc.simulate, tx, trace, gas_limit, version)

    async def _contract(self, params: dict[str, Any]) -> Any:
        version = _param(params, "version", int, optional=True)
        if version is not None and version < 0:
            raise RequestError("invalid_argument", "'version' must not be negative")
        return self._ledger(params).contract(_param(params, "name", str), version)

    async def _snapshot(self, params: dict[str, Any]) -> Any:
        svc = self._ledger(params)
        return await asyncio.get_running_loop().run_in_executor(svc.client_executor, svc.snapshots.manifest)

    async def _snapshot_chunk(self, params: dict[str, Any]) -> Any:
        svc = self._ledger(params)
        height, index = _param(params, "height", int), _param(params, "index", int)
        return await asyncio.get_running_loop().run_in_executor(svc.client_executor, svc.snapshots.chunk, height, index)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: requests are answered in order."""
        peer = writer.get_extra_info("peername")
        if self.connections >= self.max_connections:
            log.warning("refusing client %s: %d connections already open", peer, self.connections)
            writer.write(frame([0, False, ["busy", f"the node serves at most {self.max_connections} connections; retry later"]]))
            writer.close()
            return
        self.connections += 1
        try:
            while True:
                try:
                    message = await read_frame(reader)
                except ProtocolError as exc:
                    writer.write(frame([0, False, [exc.code, str(exc)]]))
                    break
                if message is None:
                    break
                writer.write(frame(await self.dispatch(message)))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            log.debug("client %s went away", peer)
        finally:
            self.connections -= 1
            writer.close()

    async def dispatch(self, message: object) -> list[Any]:
        """One response for one request; never raises."""
        if not (isinstance(message, list) and len(message) == 3 and isinstance(message[0], int)
                and isinstance(message[1], str) and isinstance(message[2], dict)):
            return [0, False, ["bad_request", "a request is [request_id, method, {params}]"]]
        request_id, method, params = message
        handler = self._methods.get(method)
        if handler is None:
            return [request_id, False, ["unknown_method", f"unknown method {method!r}; try: {', '.join(self._methods)}"]]
        try:
            return [request_id, True, await handler(params)]
        except RequestError as exc:
            return [request_id, False, [exc.code, str(exc)]]
        except LedgerError as exc:
            return [request_id, False, [exc.code, str(exc)]]
        except (CodecError, ValueError) as exc:
            return [request_id, False, ["invalid_argument", str(exc)]]
        except Exception:
            log.exception("request %s failed", method)
            return [request_id, False, ["internal_error", f"{method} failed inside the node; see its log"]]

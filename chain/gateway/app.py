"""The gateway application: create_app(config) wires the node pool, tokens, custody, caches and event feeds."""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from chain.gateway import api as api_module
from chain.gateway.auth import TokenIssuer
from chain.gateway.custody import Custody
from chain.gateway.errors import ApiError
from chain.gateway.events import EventFeed
from chain.gateway.nodes import NodePool
from chain.gateway.submitter import Submitter

log = logging.getLogger(__name__)

PREFIX = "/v1"
VERSION = "1.0.0"


@dataclass
class GatewayConfig:
    """Where the nodes are, where custodied keys live, and the token secret (random per process if not given)."""

    nodes: list[str]
    custody_dir: Path | None = None
    custody_password: bytes | None = None
    token_secret: bytes | None = None
    block_cache: int = 2_000
    node_timeout_s: float = 130.0
    extra: dict[str, Any] = field(default_factory=dict)


class _Cache:
    """A small thread-safe LRU for immutable data (committed blocks)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


class Gateway:
    """Shared state of one gateway process (Flask extension)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.nodes = NodePool(config.nodes, config.node_timeout_s)
        self.tokens = TokenIssuer(config.token_secret)
        self.custody = (Custody.from_directory(config.custody_dir, config.custody_password or b"")
                        if config.custody_dir is not None else Custody())
        self.blocks = _Cache(config.block_cache)
        self.ledgers: dict[str, Any] = {}
        self.accounts: dict[tuple[str, str], Any] = {}  # registered data accounts never change
        self._feeds: dict[str, EventFeed] = {}
        self._feeds_lock = threading.Lock()
        self._submitters: dict[str, Submitter] = {}

    def nonce(self) -> bytes:
        """A fresh transaction nonce."""
        return os.urandom(16)

    def feed(self, ledger: str) -> EventFeed:
        """The event feed of a ledger, started on first use."""
        with self._feeds_lock:
            feed = self._feeds.get(ledger)
            if feed is None:
                feed = self._feeds[ledger] = EventFeed(ledger, self.nodes.call, lambda h: self.items(ledger, h))
            return feed

    def submitter(self, ledger: str) -> Submitter:
        """The submission coalescer of a ledger, started on first use."""
        with self._feeds_lock:
            submitter = self._submitters.get(ledger)
            if submitter is None:
                submitter = self._submitters[ledger] = Submitter(ledger, self.nodes.call)
            return submitter

    def items(self, ledger: str, height: int) -> list[dict[str, Any]]:
        """The stream items of one block: the block, its transactions, its events."""
        led = api_module.ledger_of(ledger)
        view = api_module.cached_block_view(led, height)
        header = view["header"]
        out: list[dict[str, Any]] = [{"type": "block", "height": height, "hash": header["hash"],
                                      "timestamp_ms": header["timestamp_ms"], "tx_count": len(view["receipts"])}]
        for receipt in view["receipts"]:
            out.append({"type": "transaction", "height": height, "index": receipt["index"], "tx_hash": receipt["tx_hash"],
                        "code": receipt["code"], "code_name": receipt["code_name"], "message": receipt["message"],
                        "result": receipt["result"]})
        out += [{"type": "event", **event} for event in view["events"]]
        return out

    def close(self) -> None:
        """Stop the event feeds."""
        for feed in self._feeds.values():
            feed.stop()
        for submitter in self._submitters.values():
            submitter.close()


def create_app(config: GatewayConfig) -> Flask:
    """The gateway's Flask app (serve it with chain.gateway.server or any WSGI server)."""
    app = Flask("chain.gateway")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    gateway = Gateway(config)
    app.extensions["gateway"] = gateway
    app.register_blueprint(api_module.blueprint, url_prefix=PREFIX)
    document = api_module.api.openapi(PREFIX, "Consortium chain gateway", VERSION)

    @app.get(f"{PREFIX}/openapi.json")
    def openapi() -> Any:
        return jsonify(document)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Any:
        return jsonify(exc.body()), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": exc.description or exc.name, "field": None}}), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unexpected error")
        return jsonify({"error": {"code": "internal_error", "message": "the gateway failed; see its log", "field": None}}), 500

    return app

"""Serve the gateway with waitress (a production WSGI server: thread pool, no debug reloader)."""
from __future__ import annotations

import logging

from waitress import serve

from chain.gateway.app import GatewayConfig, create_app

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def run(config: GatewayConfig, host: str = "127.0.0.1", port: int = DEFAULT_PORT, threads: int = 48) -> None:
    """Serve until interrupted; each open event stream holds one of the threads."""
    app = create_app(config)
    log.info("gateway on http://%s:%d/v1 (nodes %s)", host, port, ", ".join(config.nodes))
    try:
        serve(app, host=host, port=port, threads=threads, channel_timeout=300, connection_limit=1000,
              ident="chain-gateway", clear_untrusted_proxy_headers=True)
    finally:
        app.extensions["gateway"].close()

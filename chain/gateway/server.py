"""Serve the gateway with waitress (a production WSGI server: thread pool, no debug reloader).

With workers > 1 the parent binds the listening socket and forks that many
processes, each with its own app, caches and event feeds, all accepting on the
shared socket: one Python process is bound to one core by its interpreter lock,
so this is how a gateway uses more cores. Tokens stay valid across workers
because the parent draws the token secret once (unless the config gives one).
The parent waits; SIGTERM or Ctrl-C stops every worker.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys

from waitress import serve

from chain.gateway.app import GatewayConfig, create_app

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def _serve(config: GatewayConfig, threads: int, **where: object) -> None:
    app = create_app(config)
    try:
        serve(app, threads=threads, channel_timeout=300, connection_limit=1000, ident="chain-gateway",
              clear_untrusted_proxy_headers=True, **where)  # type: ignore[arg-type]
    finally:
        app.extensions["gateway"].close()


def run(config: GatewayConfig, host: str = "127.0.0.1", port: int = DEFAULT_PORT, threads: int = 48,
        workers: int = 1) -> None:
    """Serve until interrupted; each open event stream holds one of a worker's threads."""
    log.info("gateway on http://%s:%d/v1 (nodes %s, %d worker%s)", host, port, ", ".join(config.nodes), workers,
             "s" if workers > 1 else "")
    if workers <= 1:
        _serve(config, threads, host=host, port=port)
        return
    config = dataclasses.replace(config, token_secret=config.token_secret or os.urandom(32))
    listener = socket.create_server((host, port), backlog=1024, reuse_port=False)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve on the inherited socket until told to stop
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                _serve(config, threads, sockets=[listener])
            finally:
                os._exit(0)
        children.append(pid)
    listener.close()

    def stop(*_: object) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, lambda *_: stop())
    try:
        for child in children:
            os.waitpid(child, 0)
    except KeyboardInterrupt:
        stop()
        for child in children:
            os.waitpid(child, 0)

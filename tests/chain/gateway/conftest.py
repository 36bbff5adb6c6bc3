"""A real node process and a real gateway (waitress on a loopback port) in front of it, shared by a module's tests."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from waitress import create_server, wasyncore

from chain.crypto import PrivateKey
from chain.crypto.keystore import load_key
from chain.gateway import GatewayConfig, create_app
from chain.node.devsetup import init_node_dir
from tests.chain.node.conftest import PASSWORD, NodeProcess, free_port


@dataclass
class Stack:
    """A node, a gateway in front of it, and the admin key of the node's consortium."""

    node: NodeProcess
    url: str
    admin: PrivateKey
    home: Path
    app: object


def serve(app: object) -> tuple[str, object, threading.Thread]:
    """Serve a WSGI app with waitress on a free loopback port, in a thread."""
    server = create_server(app, host="127.0.0.1", port=0, threads=24, channel_timeout=60)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.effective_port}", server, thread


def stop_server(server: Any, thread: threading.Thread) -> None:
    """Stop a waitress server served from a thread: let its tasks finish, then close its sockets in its own loop.

    Closing them from here while its loop sits in select() raises EBADF in that thread, and a task still running
    would pull the closed trigger, whose descriptor number another socket of this process may have by then.
    """
    server.task_dispatcher.shutdown(timeout=5)
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("stack")
    port = free_port()
    config = init_node_dir(base / "node", suite="sm", ledgers=["main", "audit"], port=port, password=PASSWORD.encode(),
                           scrypt_n=2**10)
    keys = base / "node" / "keys"
    custody = base / "custody"
    custody.mkdir()
    (custody / "admin.key").write_bytes((keys / "admin.key").read_bytes())
    (custody / "admin.key").chmod(0o600)
    node = NodeProcess(config, port, base / "node.log")
    node.start()
    try:
        app = create_app(GatewayConfig([f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}"], custody, PASSWORD.encode()))
        url, server, thread = serve(app)
        try:
            yield Stack(node, url, load_key(keys / "admin.key", PASSWORD.encode()), base / "node", app)
        finally:
            app.extensions["gateway"].close()  # type: ignore[attr-defined]
            stop_server(server, thread)
    finally:
        node.stop()

"""`chain node run`: open the ledgers, start their engines and the client port, stop cleanly on SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from chain.crypto import BatchVerifier, PrivateKey
from chain.crypto.keystore import load_key
from chain.node.config import NodeConfig
from chain.node.server import NodeServer
from chain.node.service import LedgerService
from chain.storage import open_store

log = logging.getLogger(__name__)


def node_password(config: NodeConfig) -> bytes:
    """The node key password from the config's password file or $CHAIN_KEY_PASSWORD."""
    if config.password_file is not None:
        return config.password_file.read_text().splitlines()[0].encode()
    env = os.environ.get("CHAIN_KEY_PASSWORD")
    if not env:
        raise ValueError("the node key password is needed: set password_file in the config or $CHAIN_KEY_PASSWORD")
    return env.encode()


async def serve(config: NodeConfig, node_key: PrivateKey, ready: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT."""
    verifier = BatchVerifier()
    executor = ThreadPoolExecutor(max_workers=len(config.ledgers) + 2, thread_name_prefix="ledger")
    stores = []
    services: dict[str, LedgerService] = {}
    try:
        for entry in config.ledgers:
            kv = open_store(str(entry.path), create_if_missing=False)
            stores.append(kv)
            services[entry.name] = LedgerService(entry.name, kv, node_key, verifier, executor, config.block_interval_ms)
        verifier.start()
        for svc in services.values():
            await svc.start()
        server = await asyncio.start_server(NodeServer(services).handle, config.host, config.port, limit=1 << 20)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        for svc in services.values():
            status = svc.status()
            log.warning("ledger %s (%s, %s) at height %d", status["name"], status["ledger_id"].hex()[:16], status["suite"], status["height"])
        print(f"node listening on {config.host}:{config.port} with ledgers: {', '.join(services)}", flush=True)
        if ready is not None:
            ready.set()
        await stop.wait()
        server.close()
        await server.wait_closed()
        for svc in services.values():
            await svc.stop()
    finally:
        executor.shutdown(wait=True)
        verifier.close()
        for kv in stores:
            kv.close()


def run(config_path: str) -> None:
    """Load the config and key, then serve."""
    config = NodeConfig.load(config_path)
    key = load_key(config.node_key, node_password(config))
    asyncio.run(serve(config, key))

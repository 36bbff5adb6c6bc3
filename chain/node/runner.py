"""`chain node run`: open the ledgers, start their engines and the client port, stop cleanly on SIGTERM."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from chain.consensus.bft.replica import ReplicaConfig

from chain.crypto import BatchVerifier, PrivateKey
from chain.crypto.keystore import load_key
from chain.net import BackoffConfig, NetConfig, Network
from chain.node.bft_engine import BftEngine, BftSettings
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


def bft_engine_factory(config: NodeConfig, password: bytes) -> Callable[[LedgerService], BftEngine] | None:
    """The BFT engine for a ledger when the config has a bft consensus section (None: solo)."""
    consensus = config.consensus
    if consensus is None:
        return None
    if len(config.ledgers) != 1:
        raise ValueError("a BFT node hosts one ledger per process (one p2p port each); split the ledgers into nodes")
    identity = consensus.tls_identity(password)
    trust = consensus.trust_anchors()
    peers = consensus.peer_specs()
    settings = BftSettings(ReplicaConfig(round_timeout_ms=consensus.round_timeout_ms,
                                         max_round_timeout_ms=consensus.max_round_timeout_ms,
                                         idle_proposal_ms=consensus.idle_proposal_ms,
                                         min_block_interval_ms=consensus.min_block_interval_ms),
                           batch_size=consensus.batch_size, batch_timeout_ms=consensus.batch_timeout_ms)

    def engine(service: LedgerService) -> BftEngine:
        def network(on_message: Callable[[str, bytes], Any]) -> Network:
            net_config = NetConfig(listen_host=consensus.p2p_host, listen_port=consensus.p2p_port,
                                   backoff=BackoffConfig(base=0.2, maximum=5.0))
            return Network(str(service.address), identity, trust, peers, net_config, on_message=on_message)

        return BftEngine(service, network, settings)

    return engine


GC_THRESHOLDS = (20_000, 50, 100)
CLIENT_THREADS = 4  # admissions wait mostly on their synced journal write: concurrent ones share one fsync


def tune_garbage_collection() -> None:
    """Collect cycles less often than Python's defaults, and never again scan what was loaded before serving.

    A validator allocates millions of short-lived tuples per second (decoding, tree updates) and keeps
    large caches; with the defaults (700, 10, 10) the cycle collector took about 5% of its CPU.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(config: NodeConfig, node_key: PrivateKey, ready: asyncio.Event | None = None,
                password: bytes | None = None) -> None:
    """Run until SIGTERM/SIGINT."""
    verifier = BatchVerifier()
    executor = ThreadPoolExecutor(max_workers=2 * len(config.ledgers) + 2, thread_name_prefix="ledger")
    client_executor = ThreadPoolExecutor(max_workers=CLIENT_THREADS, thread_name_prefix="client")
    stores = []
    services: dict[str, LedgerService] = {}
    try:
        for entry in config.ledgers:
            kv = open_store(str(entry.path), create_if_missing=False)
            stores.append(kv)
            engine = bft_engine_factory(config, password or b"")
            services[entry.name] = LedgerService(entry.name, kv, node_key, verifier, executor, config.block_interval_ms,
                                                 engine=engine, client_executor=client_executor)
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
        client_executor.shutdown(wait=True)
        executor.shutdown(wait=True)
        verifier.close()
        for kv in stores:
            kv.close()


def run(config_path: str) -> None:
    """Load the config and key, then serve."""
    config = NodeConfig.load(config_path)
    password = node_password(config)
    key = load_key(config.node_key, password)
    tune_garbage_collection()
    asyncio.run(serve(config, key, password=password))

"""An in-process BFT consortium for tests: n LedgerServices with real BftEngines over real chain.net TLS on loopback."""
from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from chain.ca import issue_leaf
from chain.consensus.bft.replica import ReplicaConfig
from chain.crypto import Address, BatchVerifier, get_suite
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import Devnet, Member, build_devnet
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.ledger.transaction import Transaction, TxContent
from chain.net import BackoffConfig, NetConfig, Network, PeerSpec, TlsIdentity, TrustAnchors
from chain.node.bft_engine import BftEngine, BftSettings
from chain.node.service import LedgerService
from chain.storage import LevelDBKV

FAST = BftSettings(ReplicaConfig(round_timeout_ms=400, max_round_timeout_ms=3_000, idle_proposal_ms=100), batch_timeout_ms=5)


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now."""
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Cluster:
    """Nodes of one ledger (the genesis validators first, then spare nodes), each with its store, service and engine."""

    net: Devnet
    nodes: list[Member]
    directory: Path
    ports: list[int]
    verifier: BatchVerifier
    executor: ThreadPoolExecutor
    services: dict[int, LedgerService] = field(default_factory=dict)
    stores: dict[int, LevelDBKV] = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path, n: int = 4, spares: int = 0) -> Cluster:
        """n genesis validators and `spares` nodes with certificates but no seat (they observe until added)."""
        net = build_devnet("classic", validators=n)
        nodes = list(net.validators)
        suite = get_suite(net.suite_name)
        for i in range(n, n + spares):
            org = list(net.orgs)[i % len(net.orgs)]
            key = suite.generate_keypair().private
            cert = issue_leaf(net.orgs[org], f"node{i}", "node", key.public_key(), not_before=net.start,
                              dns_names=("localhost",), ip_addresses=("127.0.0.1",))
            nodes.append(Member(f"node{i}", org, key, cert))
        keys = [v.key for v in net.validators]
        for i in range(len(nodes)):
            kv = LevelDBKV(str(directory / f"node{i}"))
            ChainStore.create(kv, net.genesis, keys)
            kv.close()
        verifier = BatchVerifier(workers=0)
        return cls(net, nodes, directory, free_ports(len(nodes)), verifier, ThreadPoolExecutor(8))

    def node_id(self, i: int) -> str:
        return str(Address.of(self.nodes[i].key.public_key(), get_suite(self.net.suite_name).hash_algorithm))

    def _network(self, i: int, on_message: Any) -> Network:
        member = self.nodes[i]
        identity = TlsIdentity(member.certificate, (self.net.orgs[member.organisation].certificate,), member.key)
        trust = TrustAnchors((self.net.root.certificate,), tuple(ca.certificate for ca in self.net.orgs.values()))
        peers = [PeerSpec(self.node_id(j), v.certificate, "127.0.0.1", self.ports[j])
                 for j, v in enumerate(self.nodes) if j != i]
        config = NetConfig(listen_port=self.ports[i], connect_timeout=2.0, backoff=BackoffConfig(base=0.1, maximum=1.0))
        return Network(self.node_id(i), identity, trust, peers, config, on_message=on_message)

    async def start(self, i: int, settings: BftSettings = FAST) -> LedgerService:
        kv = self.stores[i] = LevelDBKV(str(self.directory / f"node{i}"))
        service = LedgerService("main", kv, self.nodes[i].key, self.verifier, self.executor,
                                engine=lambda svc: BftEngine(svc, lambda cb: self._network(i, cb), settings))
        await service.start()
        self.services[i] = service
        return service

    async def stop(self, i: int) -> None:
        service = self.services.pop(i)
        await service.stop()
        self.stores.pop(i).close()

    async def close(self) -> None:
        for i in list(self.services):
            await self.stop(i)
        self.executor.shutdown(wait=True)
        self.verifier.close()

    def diagnosis(self) -> str:
        """Every running node's height and consensus status, for assertion messages."""
        lines = []
        for i, service in sorted(self.services.items()):
            status = dict(service.engine.status())  # type: ignore[attr-defined]
            status.pop("committee", None)
            engine: Any = service.engine
            loops = {t.get_name().split("-")[1]: "done" if t.done() else
                     " < ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in t.get_stack()) for t in engine._tasks}
            lines.append(f"node {i}: height {service.chain.height}, mempool {len(service.mempool)}, loops {loops}, "
                         f"builder waiting since {engine.builder._waiting_since}, work set {engine._work.is_set()}, {status}")
        return "\n".join(lines)

    def tx(self, ops: list[Any], signer_index: int = 0, *more_signers: int) -> Transaction:
        svc = next(iter(self.services.values()))
        content = TxContent(svc.chain.ledger_id, os.urandom(12), svc.chain.height + 900, tuple(ops))
        keys = [self.net.admins[k].key for k in (signer_index, *more_signers)]
        return Transaction.create(svc.chain.suite, content, keys)

    async def setup_account(self, via: int) -> None:
        tx = self.tx([RegisterDataAccount("acct", ())])
        verdicts = await self.services[via].submit([tx.encode()])
        assert verdicts[0]["accepted"], verdicts
        outcome = await self.services[via].wait(tx.hash, 20)
        assert outcome["status"] == "committed", outcome

    def writes(self, count: int, tag: str) -> list[Transaction]:
        return [self.tx([WriteKV("acct", f"{tag}-{i}", b"v%d" % i, None)], signer_index=i % 2) for i in range(count)]


@asynccontextmanager
async def running(directory: Path, n: int = 4, spares: int = 0, settings: BftSettings = FAST) -> AsyncIterator[Cluster]:
    """n validators (and spare nodes) started, with a data account to write to; everything stopped afterwards."""
    cluster = Cluster.create(directory, n, spares)
    try:
        for i in range(n + spares):
            await cluster.start(i, settings)
        await cluster.setup_account(via=0)
        yield cluster
    finally:
        await cluster.close()


async def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll until predicate() is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)

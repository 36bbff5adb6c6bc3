"""A 4-validator consortium of real node processes on 127.0.0.1 (chain net init/up), with a load generator."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from chain.crypto import Address
from chain.ledger.audit import audit
from chain.crypto.keystore import load_key
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.ledger.transaction import Transaction
from chain.node.client import NodeClient, NodeError
from chain.node.config import NodeConfig
from chain.node.netsetup import init_network
from chain.node.processes import down, node_directories, up
from chain.storage import LevelDBKV, MemoryKV

LEDGER = "main"


@dataclass
class Consortium:
    """Node directories, their configs and the organisations' admin keys (admins[0] is org1's)."""

    directory: Path
    homes: list[Path]
    configs: list[NodeConfig]
    admins: list[object]

    @property
    def admin(self) -> object:
        return self.admins[0]

    @classmethod
    def start(cls, directory: Path, nodes: int = 4, suite: str = "classic", base_port: int = 0,
              spares: int = 0) -> Consortium:
        password = b"test-password"
        port = base_port or 20_000 + (os.getpid() % 120) * 100  # stays below the ephemeral range (32768+)
        init_network(directory, nodes=nodes, suite=suite, base_port=port, password=password, scrypt_n=2**10,
                     spares=spares)
        homes = node_directories(directory)
        configs = [NodeConfig.load(h / "node.json") for h in homes]
        keys = homes[0] / "keys"
        admins = [load_key(path, password) for path in [keys / "admin.key", *sorted(keys.glob("admin-*.key"))]]
        up(directory, timeout=60)
        return cls(directory, homes, configs, admins)

    def client(self, i: int) -> NodeClient:
        return NodeClient(self.configs[i].host, self.configs[i].port, timeout=60)

    def pid(self, i: int) -> int | None:
        path = self.homes[i] / "node.pid"
        return int(path.read_text().split()[0]) if path.exists() else None

    def kill9(self, i: int) -> None:
        """SIGKILL the node's whole process group (the node and its signature workers), as a crash would."""
        pid = self.pid(i)
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        (self.homes[i] / "node.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        """Start the nodes that are not running."""
        up(self.directory, timeout=60)

    def stop(self) -> None:
        down(self.directory, timeout=20)

    def audit_all(self) -> None:
        """Replay every node's ledger from genesis and compare (nodes stopped)."""
        for home, config in zip(self.homes, self.configs):
            kv = LevelDBKV(str(config.ledgers[0].path))
            try:
                report = audit(kv, MemoryKV())
            finally:
                kv.close()
            assert report.ok, f"{home.name}: {report}"

    def heights(self, nodes: list[int]) -> list[int]:
        out = []
        for i in nodes:
            with self.client(i) as c:
                out.append(c.status(LEDGER)["height"])
        return out

    def leader_node(self) -> int:
        """The node directory index of the current round's leader (as node 0 sees it)."""
        with self.client(0) as c:
            round_ = c.status(LEDGER)["consensus"]["round"]
            validators = c.call("validators", ledger=LEDGER)
        leader_address = validators[round_ % len(validators)][0]
        for i in range(len(self.homes)):
            with self.client(i) as c:
                if Address.parse(c.status(LEDGER)["node_address"]).encode() == leader_address:
                    return i
        raise AssertionError("leader not found")

    def tx(self, c: NodeClient, ops: list[object], admin: int = 0) -> Transaction:
        return c.build(LEDGER, ops, [self.admins[admin]], ttl=1_000)  # type: ignore[list-item]

    def create_account(self) -> None:
        with self.client(0) as c:
            tx = self.tx(c, [RegisterDataAccount("load", ())])
            assert c.submit(LEDGER, [tx])[0]["accepted"]
            assert c.wait(LEDGER, tx.hash)["status"] == "committed"


@dataclass
class Load:
    """Submits batches of writes round-robin to the live nodes and records each one acknowledged as committed."""

    consortium: Consortium
    live: set[int]
    batch: int = 20
    acknowledged: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(120)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            target = sorted(self.live)[n % len(self.live)]
            n += 1
            try:
                with self.consortium.client(target) as c:
                    txs = [self.consortium.tx(c, [WriteKV("load", f"k{n}-{j}", b"v", None)]) for j in range(self.batch)]
                    verdicts = c.submit(LEDGER, txs)
                    for tx, verdict in zip(txs, verdicts):
                        if verdict["accepted"] and c.wait(LEDGER, tx.hash, 20_000)["status"] == "committed":
                            self.acknowledged.append(tx.hash)
            except (OSError, NodeError) as exc:  # the target died under us: acknowledged ones are what counts
                self.errors.append(f"node {target}: {exc}")
                time.sleep(0.1)

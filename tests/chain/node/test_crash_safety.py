"""Kill the node with SIGKILL at random moments under load: no acknowledged commit is lost, nothing corrupts."""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from chain.crypto.keystore import load_key
from chain.ledger.audit import audit
from chain.ledger.chain_store import ChainStore
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.node.client import NodeClient
from chain.storage import MemoryKV, open_store
from tests.chain.node.conftest import PASSWORD, NodeProcess

KILLS = 20


def _load(port: int, key, stop: threading.Event, acked: list[bytes], worker: int,  # type: ignore[no-untyped-def]
          accepted: list[bytes]) -> None:
    """Submit writes and wait for each; record what the node accepted and whose commit it acknowledged."""
    n = 0
    try:
        with NodeClient("127.0.0.1", port, timeout=10) as c:
            while not stop.is_set():
                batch = [c.build("main", [WriteKV("crash", f"w{worker}-{n + i}", b"v", None)], [key]) for i in range(20)]
                n += 20
                verdicts = c.submit("main", batch)
                accepted.extend(tx.hash for tx, v in zip(batch, verdicts) if v["accepted"])
                for tx, verdict in zip(batch, verdicts):
                    if verdict["accepted"] and c.wait("main", tx.hash, timeout_ms=5000)["status"] == "committed":
                        acked.append(tx.hash)
    except (OSError, ConnectionError):
        pass  # the node was killed under us: expected


@pytest.mark.timeout(600)
def test_sigkill_under_load_loses_no_acknowledged_commit(node_dir: tuple[Path, int], tmp_path: Path) -> None:
    config, port = node_dir
    key = load_key(config.parent / "keys" / "admin.key", PASSWORD.encode())
    node = NodeProcess(config, port, tmp_path / "node.log")
    node.start()
    with node.client() as c:
        setup = c.build("main", [RegisterDataAccount("crash", ())], [key])
        c.submit("main", [setup])
        assert c.wait("main", setup.hash)["status"] == "committed"
    acked: list[bytes] = [setup.hash]
    accepted: list[bytes] = []
    rng = random.Random(20261124)
    for round_ in range(KILLS):
        if round_:
            node.start()
        stop = threading.Event()
        workers = [threading.Thread(target=_load, args=(port, key, stop, acked, w, accepted)) for w in range(3)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.3, 1.5))
        node.kill()
        stop.set()
        for w in workers:
            w.join(timeout=30)
    node.start()  # every transaction the node said "accepted" must now reach the ledger
    with node.client() as c:
        outcomes = [c.wait("main", h, timeout_ms=30_000)["status"] for h in accepted]
    assert outcomes.count("committed") == len(accepted), {s: outcomes.count(s) for s in set(outcomes)}
    assert node.stop() == 0
    kv = open_store(str(config.parent / "ledgers" / "main"), create_if_missing=False)
    try:
        chain = ChainStore(kv)
        missing = [h.hex() for h in acked if chain.locate(h) is None]
        assert not missing, f"{len(missing)} acknowledged transactions are missing"
        assert len(acked) > KILLS, "the load generator never got commits acknowledged"
        report = audit(kv, MemoryKV())
        assert report.ok, (report.location, report.problem)
    finally:
        kv.close()

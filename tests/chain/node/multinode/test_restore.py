"""A new node process gets the ledger from a peer's snapshot (`chain node restore`), catches up, and joins as a validator."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chain.cli.main import cli
from chain.ledger.chain_store import ChainStore
from chain.ledger.errors import Pruned
from chain.storage import LevelDBKV
from tests.chain.node.multinode.consortium import LEDGER, Consortium, Load
from tests.chain.node.multinode.test_membership import _add, _seated, _wait


def test_a_new_node_restores_from_a_snapshot_then_catches_up_and_joins(tmp_path: Path) -> None:
    net = Consortium.start(tmp_path / "net", nodes=4, spares=1)
    try:
        net.kill9(4)  # the spare has executed nothing yet: its ledger is the genesis block alone
        net.create_account()
        load = Load(net, live={0, 1, 2, 3})
        load.start()
        _wait(lambda: len(load.acknowledged) >= 200, 60, "a history to restore")

        result = CliRunner().invoke(cli, ["node", "restore", "--config", str(net.homes[4] / "node.json"),
                                          "--peer", f"{net.configs[0].host}:{net.configs[0].port}"])
        assert result.exit_code == 0, result.output
        assert "restored at height" in result.output
        kv = LevelDBKV(str(net.configs[4].ledgers[0].path))
        try:
            restored = ChainStore(kv)
            snapshot = restored.snapshot_height
            assert snapshot is not None and snapshot == restored.height > 5
            with pytest.raises(Pruned):  # blocks before the snapshot are not on the restored node
                restored.header(1)
        finally:
            kv.close()

        net.restart()  # starts node 4: it catches up the blocks committed since the snapshot, then observes
        top = net.heights([0])[0]
        _wait(lambda: net.heights([4])[0] >= top, 60, "the restored node at the top")
        _add(net, 4)
        _seated(net, {0, 1, 2, 3, 4})
        before = len(load.acknowledged)
        _wait(lambda: len(load.acknowledged) >= before + 100, 60, "commits with the restored node seated")
        load.stop()
        top = net.heights([0])[0]
        _wait(lambda: net.heights([4])[0] >= top, 60, "node 4 at the top")
        with net.client(4) as c:
            assert all(c.call("outcome", ledger=LEDGER, tx_hash=h)["status"] == "committed"
                       for h in load.acknowledged[-100:])
        for h in (snapshot + 1, top):
            headers = set()
            for i in range(5):
                with net.client(i) as c:
                    headers.add(c.call("block", ledger=LEDGER, height=h)["header"])
            assert len(headers) == 1, f"height {h} differs"
    finally:
        net.stop()

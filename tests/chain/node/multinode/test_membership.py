"""Real node processes: validators join and leave under load (4 -> 5 -> 7 -> 4) and a new validator survives kill -9."""
from __future__ import annotations

import time
from pathlib import Path

from chain.ca import Certificate
from chain.crypto import Address
from chain.ledger.model import EntityState
from chain.ledger.operations import ApproveNodeChange, RegisterNode, SetNodeState
from tests.chain.node.multinode.consortium import LEDGER, Consortium, Load

ORGS = ("org1", "org2")  # node i belongs to ORGS[i % 2]; admins[k] is ORGS[k]'s admin


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _commit(net: Consortium, ops: list[object], admin: int) -> None:
    with net.client(0) as c:
        tx = net.tx(c, ops, admin)
        assert c.submit(LEDGER, [tx])[0]["accepted"]
        outcome = c.wait(LEDGER, tx.hash, 60_000)
        assert outcome["status"] == "committed" and outcome["receipt"]["code_name"] == "SUCCESS", outcome


def _address(net: Consortium, k: int) -> bytes:
    with net.client(k) as c:
        return Address.parse(c.status(LEDGER)["node_address"]).encode()


def _add(net: Consortium, k: int) -> None:
    cert = Certificate.parse((net.homes[k] / "certs" / "node.pem").read_bytes())
    _commit(net, [RegisterNode(cert.der, cert.public_key.encode())], k % 2)
    _commit(net, [ApproveNodeChange(_address(net, k))], 1 - k % 2)


def _add_with_cli(net: Consortium, k: int) -> None:
    """What an operator types: `chain tx add-node` by the node's organisation, `chain tx approve-node` by the other."""
    from click.testing import CliRunner

    from chain.cli.main import cli

    node = f"{net.configs[0].host}:{net.configs[0].port}"
    keys = net.homes[0] / "keys"
    admin_keys = [keys / "admin.key", keys / "admin-org2.key"]
    common = ["--node", node, "--password-file", str(net.homes[0] / "node.pw"), "--json"]
    runner = CliRunner()
    bad = runner.invoke(cli, ["tx", "approve-node", "not-an-address", "--key-file", str(admin_keys[0]), *common])
    assert bad.exit_code == 2 and "not a node address" in bad.output
    joined = runner.invoke(cli, ["tx", "add-node", str(net.homes[k] / "certs" / "node.pem"),
                                 "--key-file", str(admin_keys[k % 2]), *common])
    assert joined.exit_code == 0, joined.output
    address = str(Address.decode(_address(net, k)))
    approved = runner.invoke(cli, ["tx", "approve-node", address, "--key-file", str(admin_keys[1 - k % 2]), *common])
    assert approved.exit_code == 0, approved.output
    with net.client(0) as c:
        changes = c.status(LEDGER)["membership_changes"]
    assert [(ch["address"], ch["state"]) for ch in changes] in ([(address, "NORMAL")], [])  # scheduled, or in force


def _remove(net: Consortium, k: int) -> None:
    _commit(net, [SetNodeState(_address(net, k), EntityState.FROZEN)], 0)
    _commit(net, [ApproveNodeChange(_address(net, k))], 1)


def _seated(net: Consortium, members: set[int]) -> None:
    """Every node runs the epoch whose committee is exactly these nodes, and knows whether it is in it."""
    wanted = sorted(str(Address.decode(_address(net, k))) for k in members)

    def settled() -> bool:
        for i in range(len(net.homes)):
            with net.client(i) as c:
                consensus = c.status(LEDGER)["consensus"]
            if sorted(consensus["committee"]) != wanted or consensus["validator"] != (i in members):
                return False
        return True

    _wait(settled, 90, f"committee {sorted(members)} on every node")


def test_validators_join_and_leave_under_load(tmp_path: Path) -> None:
    net = Consortium.start(tmp_path / "net", nodes=4, spares=3)
    try:
        net.create_account()
        load = Load(net, live={0, 3})
        load.start()
        _add_with_cli(net, 4)
        _seated(net, {0, 1, 2, 3, 4})
        _add(net, 5)
        _add(net, 6)
        _seated(net, {0, 1, 2, 3, 4, 5, 6})
        before = len(load.acknowledged)
        net.kill9(5)  # a validator that joined: it restarts into the right epoch and catches up
        _wait(lambda: len(load.acknowledged) >= before + 100, 60, "commits with a new validator killed")
        net.restart()
        for k in (1, 2, 5):
            _remove(net, k)
        _seated(net, {0, 3, 4, 6})
        before = len(load.acknowledged)
        _wait(lambda: len(load.acknowledged) >= before + 100, 60, "commits with the final four validators")
        load.stop()
        assert len(load.acknowledged) > 300
        top = net.heights([0])[0]
        _wait(lambda: min(net.heights(list(range(7)))) >= top, 60, "every node, observers too, at the top")
        for i in range(7):
            with net.client(i) as c:
                missing = [h for h in load.acknowledged if c.call("outcome", ledger=LEDGER, tx_hash=h)["status"] != "committed"]
            assert not missing, f"node {i} lacks {len(missing)} acknowledged transactions"
        with net.client(0) as c:
            headers = [c.call("block", ledger=LEDGER, height=h)["header"] for h in range(1, top + 1)]
        for i in range(1, 7):
            with net.client(i) as c:
                assert [c.call("block", ledger=LEDGER, height=h)["header"] for h in range(1, top + 1)] == headers
    finally:
        net.stop()
    net.audit_all()

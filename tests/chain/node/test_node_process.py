"""A real node process: submit, wait, query with proofs, isolation of ledgers, clear errors, clean stop."""
from __future__ import annotations

from pathlib import Path

import pytest

from chain.crypto.keystore import load_key
from chain.ledger import namespaces as ns
from chain.ledger.operations import RegisterDataAccount, WriteKV
from chain.node.client import NodeError
from chain.node.protocol import frame, recv_frame
from tests.chain.node.conftest import PASSWORD, NodeProcess


def _admin(node: NodeProcess):  # type: ignore[no-untyped-def]
    return load_key(node.config.parent / "keys" / "admin.key", PASSWORD.encode())


def test_commit_is_acknowledged_then_provable(node: NodeProcess) -> None:
    admin = _admin(node)
    with node.client() as c:
        tx1 = c.build("main", [RegisterDataAccount("orders", ()), WriteKV("orders", "po-1", b"shipped", -1)], [admin])
        verdict = c.submit("main", [tx1])[0]
        assert verdict["accepted"], verdict
        outcome = c.wait("main", tx1.hash)
        assert outcome["status"] == "committed" and outcome["receipt"]["code"] == 0
        found = c.call("transaction", ledger="main", tx_hash=tx1.hash)
        assert found["height"] == outcome["receipt"]["height"]
        state = c.call("state", ledger="main", key=ns.data_entry_key("orders", "po-1"))
        assert state["value"] is not None
        assert c.call("state", ledger="audit", key=ns.data_entry_key("orders", "po-1"))["value"] is None  # isolated


def test_bad_submissions_get_reasons_and_are_not_committed(node: NodeProcess) -> None:
    admin = _admin(node)
    with node.client() as c:
        good = c.build("main", [RegisterDataAccount("a", ())], [admin])
        raw = good.encode()
        verdicts = c.call("submit", ledger="main", transactions=[raw[:-3], raw + b"\x00", raw])
        assert [v["code_name"] for v in verdicts] == ["MALFORMED", "MALFORMED", "SUCCESS"]
        again = c.call("submit", ledger="main", transactions=[raw])[0]
        assert again["code_name"] == "DUPLICATE"
        wrong_ledger = c.build("audit", [RegisterDataAccount("b", ())], [admin])
        assert c.submit("main", [wrong_ledger])[0]["code_name"] == "WRONG_LEDGER"
        assert c.wait("main", good.hash)["status"] == "committed"


def test_protocol_errors_are_clear(node: NodeProcess) -> None:
    with node.client() as c:
        with pytest.raises(NodeError) as err:
            c.call("nope")
        assert err.value.code == "unknown_method"
        with pytest.raises(NodeError) as err:
            c.call("state", ledger="ghost", key=b"k")
        assert err.value.code == "not_found" and "main" in str(err.value)
        with pytest.raises(NodeError) as err:
            c.call("state", ledger="main", key="not bytes")
        assert err.value.code == "invalid_argument"
        c.sock.sendall(frame(["not", "a", "request"]))
        assert recv_frame(c.sock)[1] is False
        assert c.call("status")["ledgers"]  # connection still usable


def test_oversized_frame_is_refused(node: NodeProcess) -> None:
    with node.client() as c:
        c.sock.sendall((64 << 20).to_bytes(4, "big"))
        response = recv_frame(c.sock)
        assert response[1] is False and response[2][0] == "too_large"


def test_sigterm_stops_cleanly_and_data_survives_restart(node: NodeProcess, tmp_path: Path) -> None:
    admin = _admin(node)
    with node.client() as c:
        tx = c.build("main", [RegisterDataAccount("keep", ())], [admin])
        c.submit("main", [tx])
        assert c.wait("main", tx.hash)["status"] == "committed"
    assert node.stop() == 0
    node.start()
    with node.client() as c:
        assert c.call("outcome", ledger="main", tx_hash=tx.hash)["status"] == "committed"

"""`chain tx|query|block` against a running node: results, proofs checked locally, clear failures."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chain.cli.main import cli
from tests.chain.node.conftest import PASSWORD, NodeProcess


@pytest.fixture
def run(node: NodeProcess, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", PASSWORD)
    key = str(node.config.parent / "keys" / "admin.key")
    where = ["--node", f"127.0.0.1:{node.port}"]

    def invoke(*args: str, signed: bool = False):  # type: ignore[no-untyped-def]
        extra = ["--key-file", key] if signed else []
        return CliRunner().invoke(cli, [*args, *where, *extra, "--json"])

    return invoke


def test_write_then_query_with_proof_and_history(run) -> None:  # type: ignore[no-untyped-def]
    assert run("tx", "account", "orders", signed=True).exit_code == 0
    first = run("tx", "write", "orders", "po-1", "packed", "--expected-version", "-1", signed=True)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["receipt"]["code_name"] == "SUCCESS"
    assert run("tx", "write", "orders", "po-1", "shipped", signed=True).exit_code == 0
    state = json.loads(run("query", "state", "orders", "po-1").output)
    assert state["value"] == "shipped" and state["version"] == 1 and state["proof"].startswith("verified")
    history = json.loads(run("query", "history", "orders", "po-1").output)
    assert [h["value"] for h in history] == ["packed", "shipped"]
    older = json.loads(run("query", "state", "orders", "po-1", "--height", str(history[0]["height"])).output)
    assert older["value"] == "packed"
    block = json.loads(run("block", "show").output)
    assert block["header"]["height"] == history[1]["height"]
    status = json.loads(run("tx", "status", json.loads(first.output)["tx_hash"]).output)
    assert status["status"] == "committed"


def test_failures_exit_nonzero_with_the_reason(run) -> None:  # type: ignore[no-untyped-def]
    run("tx", "account", "acct", signed=True)
    conflict = run("tx", "write", "acct", "k", "v", "--expected-version", "3", signed=True)
    assert conflict.exit_code == 1 and "VERSION_CONFLICT" in conflict.output
    missing = run("query", "state", "acct", "nope")
    assert missing.exit_code == 0 and json.loads(missing.output)["value"] is None
    gone = CliRunner().invoke(cli, ["block", "show", "--node", "127.0.0.1:1"])
    assert gone.exit_code != 0 and "cannot reach the node" in gone.output and "Traceback" not in gone.output
    wrong = run("block", "show", "999")
    assert wrong.exit_code == 2 and "no block at height 999" in wrong.output

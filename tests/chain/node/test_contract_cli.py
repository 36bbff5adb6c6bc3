"""`chain contract` against a running node: compile, deploy, invoke, simulate without committing, trace, show, freeze."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chain.cli.main import cli
from tests.chain.node.conftest import PASSWORD, NodeProcess

TOKEN = Path(__file__).resolve().parents[3] / "chain" / "contracts" / "examples" / "token.py"


@pytest.fixture
def run(node: NodeProcess, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", PASSWORD)
    key = str(node.config.parent / "keys" / "admin.key")
    where = ["--node", f"127.0.0.1:{node.port}"]

    def invoke(*args: str, signed: bool = True):  # type: ignore[no-untyped-def]
        extra = ["--key-file", key] if signed else []
        return CliRunner().invoke(cli, ["contract", *args, *where, *extra])

    return invoke


def _balance(run, who: str) -> int:  # type: ignore[no-untyped-def]
    out = run("simulate", "token", "balance_of", "--args", json.dumps([who]))
    assert out.exit_code == 0, out.output
    return json.loads(out.output)["value"]  # type: ignore[no-any-return]


def test_compile_deploy_invoke_simulate_and_trace(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ir = tmp_path / "token.ir"
    compiled = CliRunner().invoke(cli, ["contract", "compile", str(TOKEN), "-o", str(ir)])
    assert compiled.exit_code == 0 and "classic hash:" in compiled.output
    refused = run("deploy", "token", str(ir), "--json")
    assert refused.exit_code == 1 and "needs approvals from 2 of org1, org2" in refused.output
    approved = run("approve", "token", str(ir), "--json")
    assert approved.exit_code == 0, approved.output
    deployed = run("deploy", "token", str(ir), "--policy", "1:org1", "--json")
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.output)["code"] == "SUCCESS"
    init = run("invoke", "token", "init", "--args", '["Gold", "GLD", 1000]', "--json")
    assert init.exit_code == 0, init.output
    sent = run("invoke", "token", "transfer", "--args", '["bob", 40]', "--json")
    report = json.loads(sent.output)
    assert report["results"][0]["value"] is True and report["results"][0]["gas_used"] > 0
    assert _balance(run, "bob") == 40

    dry = run("simulate", "token", "transfer", "--args", '["bob", 5]')
    assert dry.exit_code == 0, dry.output
    result = json.loads(dry.output)
    assert result["value"] is True and result["events"][0]["event"] == "Transfer"
    assert any(w[2] == ["balances", "bob"] and w[3] == 45 for w in result["writes"])
    assert _balance(run, "bob") == 40  # nothing committed

    traced = run("trace", "token", "transfer", "--args", '["bob", 5]', "--source", str(TOKEN))
    assert traced.exit_code == 0, traced.output
    assert "balances[sender] = balance - amount" in traced.output and "amount=5" in traced.output

    failing = run("simulate", "token", "transfer", "--args", '["bob", 999999]')
    assert failing.exit_code == 1 and "is less than 999999" in failing.output
    starved = run("simulate", "token", "transfer", "--args", '["bob", 1]', "--gas-limit", "50")
    assert starved.exit_code == 1 and "out of gas" in starved.output


def test_show_freeze_and_clear_errors(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("deploy", "token", str(TOKEN), "--policy", "1:org1").exit_code == 0
    shown = run("show", "--name", "token", "--abi", signed=False)
    assert shown.exit_code == 0, shown.output
    assert '"state": "NORMAL"' in shown.output and '"transfer_from"' in shown.output
    assert run("freeze", "token").exit_code == 0
    frozen = run("invoke", "token", "total_supply")
    assert frozen.exit_code == 1 and "FROZEN" in frozen.output
    assert run("freeze", "token", "--unfreeze").exit_code == 0
    assert run("invoke", "token", "balance_of", "--args", '["bob"]').exit_code == 0
    bad_args = run("invoke", "token", "transfer", "--args", "[1.5]")
    assert bad_args.exit_code == 2 and "floats" in bad_args.output
    wrong_type = run("simulate", "token", "transfer", "--args", '[1, 2]')
    assert wrong_type.exit_code == 1 and "argument recipient must be str" in wrong_type.output
    broken = tmp_path / "broken.py"
    broken.write_text("import os\n\ndef f() -> None:\n    pass\n")
    refused = CliRunner().invoke(cli, ["contract", "compile", str(broken)])
    assert refused.exit_code == 2 and "line 1" in refused.output and "Traceback" not in refused.output

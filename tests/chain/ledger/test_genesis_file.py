"""Genesis files: the dev setup's files create a ledger; every error names its field."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chain.cli.main import cli
from chain.ledger.genesis_file import GenesisFileError, load_genesis_file
from chain.node.devsetup import init_node_dir


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    init_node_dir(tmp_path / "n", suite="classic", ledgers=["main"], port=7499, password=b"pw", scrypt_n=2**10)
    return tmp_path / "n"


def test_generated_genesis_file_creates_a_second_ledger_from_the_cli(node_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", "pw")
    doc = json.loads((node_dir / "genesis-main.json").read_text())
    doc["ledger"] = "second"
    doc["settings"] = {"block_interval_ms": 50}
    (node_dir / "genesis-second.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["ledger", "init", "--genesis", str(node_dir / "genesis-second.json"),
                                      "--data", str(node_dir / "ledgers" / "second"), "--node-key", str(node_dir / "keys" / "node.key")])
    assert result.exit_code == 0, result.output
    assert "ledger 'second' (classic) created" in result.output
    again = CliRunner().invoke(cli, ["ledger", "init", "--genesis", str(node_dir / "genesis-second.json"),
                                     "--data", str(node_dir / "ledgers" / "second"), "--node-key", str(node_dir / "keys" / "node.key")])
    assert again.exit_code != 0 and "not empty" in again.output


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d.pop("ledger"), "'ledger'"),
        (lambda d: d.update(suite="rsa"), "'suite'"),
        (lambda d: d.update(roots=["certs/missing.pem"]), "roots[0]: no file"),
        (lambda d: d.update(participants=[{"ca": "certs/root.pem"}]), "participants[0]"),
        (lambda d: d.update(users=[{"certificate": "certs/admin.pem", "roles": "ADMIN"}]), "users[0].roles"),
        (lambda d: d.update(settings={"max_block_txs": -1}), "settings.max_block_txs"),
        (lambda d: d.update(settings={"validator_change_delay": 0}), "settings.validator_change_delay"),
        (lambda d: d.update(settings={"nonsense": 1}), "settings.nonsense"),
        (lambda d: d.update(timestamp="yesterday"), "'timestamp'"),
    ],
)
def test_bad_genesis_files_name_the_field(node_dir: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((node_dir / "genesis-main.json").read_text())
    change(doc)
    path = node_dir / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(GenesisFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_genesis_file(path)

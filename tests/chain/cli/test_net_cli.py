"""`chain net init|up|status|down`: output, exit codes, and errors as one line without a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chain.cli.main import cli
from chain.crypto.keystore import load_key
from chain.node.config import NodeConfig
from tests.chain.node.conftest import free_port

FAST = ["--scrypt-n", "1024"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("CHAIN_KEY_PASSWORD", raising=False)
    monkeypatch.delenv("CHAIN_NET_DIR", raising=False)
    return CliRunner()


def test_init_with_a_password_file_makes_four_bft_nodes(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("chosen\n")
    result = runner.invoke(cli, ["net", "init", "--nodes", "4", "--suite", "sm", "--dir", str(tmp_path / "net"),
                                 "--base-port", "9000", "--password-file", str(tmp_path / "pw"), *FAST])
    assert result.exit_code == 0, result.output
    for i in range(4):
        assert f"node{i}" in result.output and f"127.0.0.1:{9000 + i}" in result.output and f"127.0.0.1:{9100 + i}" in result.output
    assert "consensus BFT" in result.output and "chain net up --dir" in result.output
    info = json.loads((tmp_path / "net" / "network.json").read_text())
    assert info["genesis_block_hash"]["main"] in result.output
    for i in range(4):
        home = tmp_path / "net" / f"node{i}"
        assert (home / "node.pw").read_text() == "chosen\n"
        assert NodeConfig.load(home / "node.json").consensus is not None
    load_key(tmp_path / "net" / "node2" / "keys" / "node.key", b"chosen")


def test_init_without_a_password_file_generates_one(runner: CliRunner, tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = runner.invoke(cli, ["net", "init", "--nodes", "2", "--dir", str(tmp_path / name), *FAST])
        assert result.exit_code == 0, result.output
    passwords = {(tmp_path / n / f"node{i}" / "node.pw").read_text() for n in ("a", "b") for i in (0, 1)}
    assert len(passwords) == 2 and all(len(p.strip()) >= 24 for p in passwords)
    pw = (tmp_path / "a" / "node0" / "node.pw").read_text().strip().encode()
    load_key(tmp_path / "a" / "node1" / "keys" / "tls.key", pw)
    load_key(tmp_path / "a" / "node0" / "keys" / "admin.key", pw)


def test_init_errors_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    target = str(tmp_path / "net")
    assert runner.invoke(cli, ["net", "init", "--nodes", "1", "--dir", target, *FAST]).exit_code == 0
    again = runner.invoke(cli, ["net", "init", "--nodes", "1", "--dir", target, *FAST])
    assert again.exit_code == 2
    assert "error:" in again.output and "already holds a network" in again.output and "[already_exists]" in again.output
    assert "Traceback" not in again.output
    cases: list[tuple[list[str], str]] = [
        (["--nodes", "0"], "--nodes"), (["--suite", "rsa"], "rsa"), (["--base-port", "65500"], "does not fit"),
        (["--password-file", str(tmp_path / "none")], "does not exist"),
    ]
    for args, text in cases:
        result = runner.invoke(cli, ["net", "init", "--dir", str(tmp_path / "other"), *args, *FAST])
        assert result.exit_code == 2 and text in result.output and "Traceback" not in result.output, result.output


def test_commands_on_a_missing_network_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    for command in ("up", "down", "status"):
        result = runner.invoke(cli, ["net", command, "--dir", str(tmp_path / "none")])
        assert result.exit_code == 2, result.output
        assert "error:" in result.output and "[no_network]" in result.output and "Traceback" not in result.output


def test_up_status_down(runner: CliRunner, tmp_path: Path) -> None:
    target = str(tmp_path / "net")
    port = free_port()
    assert runner.invoke(cli, ["net", "init", "--nodes", "1", "--dir", target, "--base-port", str(port), *FAST]).exit_code == 0
    stopped = runner.invoke(cli, ["net", "status", "--dir", target])
    assert stopped.exit_code == 1 and "stopped" in stopped.output
    try:
        started = runner.invoke(cli, ["net", "up", "--dir", target])
        assert started.exit_code == 0, started.output
        assert "node0" in started.output and f"127.0.0.1:{port}" in started.output and "1 node(s) running" in started.output
        shown = runner.invoke(cli, ["net", "status", "--dir", target])
        assert shown.exit_code == 0, shown.output
        assert "running" in shown.output and "main height 0" in shown.output
        as_json = runner.invoke(cli, ["net", "status", "--dir", target, "--json"])
        [node] = json.loads(as_json.output)
        assert node["running"] and node["ledgers"][0]["height"] == 0 and isinstance(node["ledgers"][0]["block_hash"], str)
        twice = runner.invoke(cli, ["net", "up", "--dir", target])
        assert twice.exit_code == 2 and "[already_running]" in twice.output and "Traceback" not in twice.output
    finally:
        stop = runner.invoke(cli, ["net", "down", "--dir", target])
    assert stop.exit_code == 0 and "node0  stopped (pid" in stop.output
    after = runner.invoke(cli, ["net", "status", "--dir", target, "--json"])
    assert after.exit_code == 1 and json.loads(after.output)[0]["running"] is False

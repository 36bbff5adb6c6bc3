"""`chain keys new|show`: happy path and clear errors without tracebacks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chain.cli.main import cli


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", "s3cret")
    return CliRunner()


@pytest.mark.parametrize("suite,alg", [("classic", "ECDSA_P256"), ("sm", "SM2")])
def test_new_then_show_reports_the_same_public_key(runner: CliRunner, tmp_path: Path, suite: str, alg: str) -> None:
    out = tmp_path / "alice.key"
    made = runner.invoke(cli, ["keys", "new", "--suite", suite, "--out", str(out), "--label", "alice", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["algorithm"] == alg
    shown = runner.invoke(cli, ["keys", "show", str(out), "--check", "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.output)
    assert info["public_key"] == created["public_key"] and info["address"] == created["address"]
    assert info["check"].startswith("ok")


def test_wrong_password_is_one_clear_line(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "k.key"
    assert runner.invoke(cli, ["keys", "new", "--out", str(out)]).exit_code == 0
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", "wrong")
    result = runner.invoke(cli, ["keys", "show", str(out), "--check"])
    assert result.exit_code == 2
    assert "error: wrong password" in result.output and "Traceback" not in result.output


def test_refuses_to_overwrite_and_reports_missing_files(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    assert runner.invoke(cli, ["keys", "new", "--out", str(out)]).exit_code == 0
    again = runner.invoke(cli, ["keys", "new", "--out", str(out)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    missing = runner.invoke(cli, ["keys", "show", str(tmp_path / "none.key")])
    assert missing.exit_code == 2 and "no key file" in missing.output


def test_unknown_suite_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["keys", "new", "--suite", "rsa", "--out", str(tmp_path / "k")])
    assert result.exit_code == 2 and "rsa" in result.output


def test_no_password_without_a_terminal_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAIN_KEY_PASSWORD", raising=False)
    result = CliRunner().invoke(cli, ["keys", "new", "--out", str(tmp_path / "k")])
    assert result.exit_code == 2 and "CHAIN_KEY_PASSWORD" in result.output

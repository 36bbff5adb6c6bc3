"""`chain ca init|add-org|issue|verify|revoke|crl|list`: the happy path and clear errors without tracebacks."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from chain.ca import Certificate, RevocationList
from chain.cli.ca import ca
from chain.crypto import get_suite
from chain.crypto.keystore import save_key

FAST = ["--scrypt-n", "1024"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("CHAIN_KEY_PASSWORD", raising=False)
    monkeypatch.delenv("CHAIN_CA_DIR", raising=False)
    return CliRunner()


@pytest.fixture
def pw(tmp_path: Path) -> dict[str, str]:
    files = {}
    for name, secret in (("root", "root secret"), ("org", "org secret"), ("key", "leaf secret"), ("wrong", "nope")):
        path = tmp_path / f"{name}.pw"
        path.write_text(secret + "\n")
        files[name] = str(path)
    return files


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(ca, list(args), catch_exceptions=False)


def field(output: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(.+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1).strip()


def expect_error(result: Result, code: str) -> None:
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr and f"[{code}]" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def store(runner: CliRunner, tmp_path: Path, pw: dict[str, str], request: pytest.FixtureRequest) -> str:
    directory = str(tmp_path / "ca")
    suite = getattr(request, "param", "classic")
    made = run(runner, "init", "--dir", directory, "--suite", suite, "--name", "Demo", "--password-file", pw["root"], *FAST)
    assert made.exit_code == 0, made.output
    added = run(runner, "add-org", "org1", "--dir", directory, "--password-file", pw["root"], "--org-password-file", pw["org"])
    assert added.exit_code == 0, added.output
    return directory


@pytest.mark.parametrize("store", ["classic", "sm"], indirect=True)
def test_issue_verify_revoke_then_verify_fails(runner: CliRunner, store: str, pw: dict[str, str], tmp_path: Path) -> None:
    issued = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "node", "--cn", "peer0",
                 "--dns", "localhost", "--ip", "127.0.0.1", "--password-file", pw["org"], "--key-password-file", pw["key"])
    assert issued.exit_code == 0, issued.output
    cert_file, serial = field(issued.output, "cert"), field(issued.output, "serial")
    assert Path(field(issued.output, "key")).is_file()

    ok = run(runner, "verify", cert_file, "--dir", store, "--role", "node")
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK CN=peer0,OU=node,O=org1")
    assert field(ok.output, "chain") == "peer0 <- org1 CA <- Demo Root CA"

    wrong_role = run(runner, "verify", cert_file, "--dir", store, "--role", "user")
    assert wrong_role.exit_code == 1 and wrong_role.stderr.startswith("error: wrong_role:")

    revoked = run(runner, "revoke", serial, "--dir", store, "--reason", "keyCompromise", "--password-file", pw["org"])
    assert revoked.exit_code == 0, revoked.output
    assert "number 2, 1 revoked" in field(revoked.output, "crl")

    failed = run(runner, "verify", cert_file, "--dir", store, "--at", "2099-01-01T00:00:00Z")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("error: revoked:")  # revocation is reported before expiry
    failed_now = run(runner, "verify", cert_file, "--dir", store)
    assert failed_now.exit_code == 1 and failed_now.stderr.startswith("error: revoked:"), failed_now.output
    assert serial[-8:] in failed_now.stderr and "keyCompromise" in failed_now.stderr

    out = tmp_path / "org1.crl"
    shown = run(runner, "crl", "org1", "--dir", store, "--out", str(out))
    assert shown.exit_code == 0, shown.output
    assert f"{serial}" in shown.output and "keyCompromise" in shown.output
    assert RevocationList.parse(out.read_bytes()).lookup(int(serial, 16)) is not None

    listed = run(runner, "list", "--dir", store)
    assert re.search(rf"{serial}\s+revoked\s+node", listed.output), listed.output


def test_issue_certifies_an_existing_key_file(runner: CliRunner, store: str, pw: dict[str, str], tmp_path: Path) -> None:
    pair = get_suite("classic").generate_keypair()
    key_file = save_key(tmp_path / "alice.key", pair.private, b"alice pw", scrypt_n=1024)
    issued = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "user", "--cn", "alice",
                 "--public-key", str(key_file), "--password-file", pw["org"])
    assert issued.exit_code == 0, issued.output
    assert "key " not in issued.output
    cert = Certificate.parse(Path(field(issued.output, "cert")).read_bytes())
    assert cert.public_key == pair.public
    by_hex = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "admin", "--cn", "alice",
                 "--public-key", pair.public.hex(), "--password-file", pw["org"])
    assert by_hex.exit_code == 0, by_hex.output


def test_revoke_accepts_the_certificate_file(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    issued = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "device", "--cn", "sensor-1",
                 "--password-file", pw["org"], "--key-password-file", pw["key"])
    revoked = run(runner, "revoke", field(issued.output, "cert"), "--dir", store, "--password-file", pw["org"])
    assert revoked.exit_code == 0, revoked.output
    assert field(revoked.output, "reason") == "unspecified"


def test_verify_with_explicit_root_intermediate_and_crl_files(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    issued = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "gateway", "--cn", "gw",
                 "--password-file", pw["org"], "--key-password-file", pw["key"])
    cert_file = field(issued.output, "cert")
    root, org, crl = f"{store}/root/ca.pem", f"{store}/orgs/org1/ca.pem", f"{store}/orgs/org1/crl.pem"
    ok = run(runner, "verify", cert_file, "--root", root, "--intermediate", org, "--crl", crl, "--role", "gateway")
    assert ok.exit_code == 0, ok.output
    no_intermediate = run(runner, "verify", cert_file, "--root", root)
    assert no_intermediate.exit_code == 1 and no_intermediate.stderr.startswith("error: wrong_issuer:")


def test_verify_before_the_certificate_exists_is_not_yet_valid(runner: CliRunner, store: str) -> None:
    result = run(runner, "verify", f"{store}/orgs/org1/ca.pem", "--dir", store, "--at", "2001-01-01T00:00:00")
    assert result.exit_code == 1 and result.stderr.startswith("error: not_yet_valid:")


def test_verify_a_file_that_is_not_a_certificate(runner: CliRunner, store: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    result = run(runner, "verify", str(junk), "--dir", store)
    assert result.exit_code == 1 and result.stderr.startswith("error: malformed:")
    assert "Traceback" not in result.output


def test_crl_without_issuer_summarises_every_ca(runner: CliRunner, store: str) -> None:
    result = run(runner, "crl", "--dir", store)
    assert result.exit_code == 0, result.output
    assert "root (CN=Demo Root CA,OU=root,O=Demo)" in result.output and "org1 (CN=org1 CA,OU=ca,O=org1)" in result.output


def test_crl_update_resigns_with_the_next_number(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    result = run(runner, "crl", "org1", "--update", "--dir", store, "--password-file", pw["org"])
    assert result.exit_code == 0, result.output
    assert field(result.output, "number") == "2"


def test_wrong_password_is_a_clear_error(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    result = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "user", "--cn", "x",
                 "--password-file", pw["wrong"], "--key-password-file", pw["key"])
    expect_error(result, "keystore_wrong_password")
    assert "org1" in result.stderr


def test_missing_store_directory_is_a_clear_error(runner: CliRunner, tmp_path: Path, pw: dict[str, str]) -> None:
    expect_error(run(runner, "list", "--dir", str(tmp_path / "nowhere")), "store_not_found")
    expect_error(run(runner, "add-org", "org1", "--dir", str(tmp_path / "nowhere"), "--password-file", pw["root"]), "store_not_found")


def test_unknown_organisation_is_a_clear_error(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    result = run(runner, "issue", "--dir", store, "--org", "org9", "--role", "user", "--cn", "x",
                 "--password-file", pw["org"], "--key-password-file", pw["key"])
    expect_error(result, "unknown_org")
    assert "chain ca add-org org9" in result.stderr


def test_duplicates_are_clear_errors(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    expect_error(run(runner, "add-org", "org1", "--dir", store, "--password-file", pw["root"]), "org_exists")
    args = ["issue", "--dir", store, "--org", "org1", "--role", "user", "--cn", "bob", "--password-file", pw["org"],
            "--key-password-file", pw["key"]]
    assert run(runner, *args).exit_code == 0
    expect_error(run(runner, *args), "duplicate_certificate")
    expect_error(run(runner, "init", "--dir", store, "--name", "Again", "--password-file", pw["root"], *FAST), "store_exists")


def test_unknown_serial_and_bad_names_are_clear_errors(runner: CliRunner, store: str, pw: dict[str, str]) -> None:
    expect_error(run(runner, "revoke", "abcdef", "--dir", store, "--password-file", pw["org"]), "unknown_certificate")
    expect_error(run(runner, "add-org", "bad/name", "--dir", store, "--password-file", pw["root"]), "invalid_name")
    result = run(runner, "issue", "--dir", store, "--org", "org1", "--role", "user", "--cn", "eve", "--dns", "eve.example",
                 "--password-file", pw["org"], "--key-password-file", pw["key"])
    expect_error(result, "invalid_name")


def test_missing_password_without_a_terminal_is_a_usage_error(runner: CliRunner, store: str) -> None:
    result = runner.invoke(ca, ["add-org", "org2", "--dir", store])
    assert result.exit_code == 2 and "no password" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["init", "add-org", "issue", "verify", "revoke", "crl", "list"])
def test_every_command_explains_itself_with_an_example(runner: CliRunner, command: str) -> None:
    result = run(runner, command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "--dir" in result.output


def test_group_help_names_the_five_core_commands(runner: CliRunner) -> None:
    result = run(runner, "--help")
    for command in ("init", "issue", "revoke", "verify", "crl"):
        assert f"  {command} " in result.output

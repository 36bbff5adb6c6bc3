"""`chain keys`: create and inspect encrypted key files."""
from __future__ import annotations

import json
from pathlib import Path

import click

from chain.crypto import PublicKey, get_suite, suite_of
from chain.crypto.keystore import load_key, public_info, save_key
from chain.cli.password import get_password, password_file_option

SUITE_CHOICE = click.Choice(["classic", "sm"])


@click.group()
def keys() -> None:
    """Create and inspect encrypted signing keys."""


@keys.command("new")
@click.option("--suite", "suite_name", type=SUITE_CHOICE, default="classic", show_default=True,
              help="classic = ECDSA P-256/SHA-256; sm = SM2/SM3 (Chinese national algorithms).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Key file to create (encrypted, mode 0600).")
@click.option("--label", default="", help="Free text stored with the key, e.g. 'alice@org1'.")
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
@password_file_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def new(suite_name: str, out: Path, label: str, force: bool, password_file: Path | None, as_json: bool) -> None:
    """Generate a key pair and save it encrypted with a password.

    Example: chain keys new --suite sm --out alice.key --label alice@org1
    """
    suite = get_suite(suite_name)
    password = get_password(password_file, confirm=True, what="new key password")
    pair = suite.generate_keypair()
    save_key(out, pair.private, password, label=label, overwrite=force)
    _print(out, label, pair.public, as_json)


@keys.command("show")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Also decrypt the key to prove the password and the file are intact.")
@password_file_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def show(key_file: Path, check: bool, password_file: Path | None, as_json: bool) -> None:
    """Show a key file's public key, algorithm and addresses (the private key is never shown).

    Example: chain keys show alice.key --check
    """
    info = public_info(key_file)
    public = PublicKey.from_hex(info["public_key"])
    if check:
        private = load_key(key_file, get_password(password_file))
        if private.public_key() != public:
            raise click.ClickException("the key file's public key does not match its private key")
    _print(key_file, info["label"], public, as_json, checked=check)


def _print(path: Path, label: str, public: PublicKey, as_json: bool, checked: bool = False) -> None:
    suite = suite_of(public.algorithm)
    data = {
        "file": str(path),
        "label": label,
        "suite": suite.name,
        "algorithm": public.algorithm.name,
        "public_key": public.hex(),
        "address": str(suite.address_of(public)),
    }
    if checked:
        data["check"] = "ok: password and file are intact"
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for k, v in data.items():
            click.echo(f"{k:11} {v}")

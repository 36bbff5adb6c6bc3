"""`chain ca`: run the consortium certificate authority (root, organisation CAs, leaves, CRLs)."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from chain.ca import (
    CAError,
    CAStore,
    Certificate,
    CertificateVerificationError,
    RevocationList,
    RevocationReason,
    VerifiedChain,
    parse_certificates,
    verify_chain,
)
from chain.ca.names import LEAF_ROLES
from chain.ca.store import ROOT, parse_serial
from chain.cli.errors import ChainGroup, register_expected
from chain.cli.password import get_password, password_file_option
from chain.crypto import PublicKey
from chain.crypto.keystore import DEFAULT_SCRYPT_N, public_info

register_expected(CAError)

ROLE_CHOICE = click.Choice([r.value for r in LEAF_ROLES])
REASON_CHOICE = click.Choice([r.rfc_name for r in RevocationReason], case_sensitive=False)

dir_option = click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("ca"),
    envvar="CHAIN_CA_DIR", show_default="./ca, or $CHAIN_CA_DIR", help="The CA store directory.",
)


def _days(default: int, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--days", type=click.IntRange(min=1), default=default, show_default=True, help=f"Validity of the {what} in days.")


def _validity(days: int) -> tuple[datetime, datetime]:
    start = datetime.now(timezone.utc).replace(microsecond=0)
    return start, start + timedelta(days=days)


def _show(rows: list[tuple[str, object]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


@click.group(cls=ChainGroup)
def ca() -> None:
    """Run the consortium certificate authority.

    The PKI has three levels: one consortium root CA, one intermediate CA per
    member organisation, and leaf certificates for nodes, gateways, users,
    devices and admins. A leaf's organisation is its subject O= and its role its
    subject OU=. Everything lives in one directory (--dir, default ./ca); every
    private key in it is encrypted with a password.

    \b
    A first session:
      chain ca init --suite sm --name Demo
      chain ca add-org org1
      chain ca issue --org org1 --role node --cn peer0 --dns localhost --ip 127.0.0.1
      chain ca verify ca/orgs/org1/issued/node-peer0-<serial>.pem --role node
      chain ca revoke <serial> --reason keyCompromise
      chain ca crl org1
    """


@ca.command("init")
@dir_option
@click.option("--suite", "suite_name", type=click.Choice(["classic", "sm"]), default="classic", show_default=True,
              help="classic = ECDSA P-256/SHA-256; sm = SM2/SM3. Every certificate of the store uses it.")
@click.option("--name", "consortium", required=True, help="Consortium name: the root's O= (its CN is '<name> Root CA').")
@_days(3650, "root certificate")
@password_file_option
@click.option("--scrypt-n", type=int, default=DEFAULT_SCRYPT_N, hidden=True, help="Key-file KDF cost (tests lower it).")
def init(directory: Path, suite_name: str, consortium: str, days: int, password_file: Path | None, scrypt_n: int) -> None:
    """Create a CA store and its consortium root CA.

    Makes the directory, a new root CA and its (empty) CRL. The root key is
    generated here and saved encrypted with the password you choose; keep
    that password safe, it signs every organisation CA.

    Example: chain ca init --dir ./ca --suite sm --name "Demo Consortium"
    """
    password = get_password(password_file, confirm=True, what="new root CA key password")
    start, end = _validity(days)
    store = CAStore.init(directory, suite=suite_name, consortium=consortium, password=password,
                         scrypt_n=scrypt_n, not_before=start, not_after=end)
    root = store.root
    _show([
        ("store", store.directory),
        ("suite", store.suite.name),
        ("root", root.subject),
        ("serial", f"{root.serial:032x}"),
        ("valid", f"{root.not_before.isoformat()} .. {root.not_after.isoformat()}"),
        ("cert", store.directory / ROOT / "ca.pem"),
        ("crl", store.crl_path(ROOT)),
    ])


@ca.command("add-org")
@dir_option
@click.argument("organisation")
@_days(1825, "organisation CA (never beyond the root's)")
@password_file_option
@click.option("--org-password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Password for the new organisation CA key (default: the root key's password).")
def add_org(directory: Path, organisation: str, days: int, password_file: Path | None, org_password_file: Path | None) -> None:
    """Add an organisation: issue its intermediate CA.

    The organisation CA (subject O=ORG, OU=ca) is signed by the root. Needs
    the root key password (--password-file). The new organisation key is
    encrypted with --org-password-file, or with the root's password if omitted.

    Example: chain ca add-org org1 --password-file root.pw
    """
    store = CAStore.open(directory)
    root_password = get_password(password_file, what="root CA key password")
    org_password = get_password(org_password_file) if org_password_file is not None else None
    start, end = _validity(days)
    end = min(end, store.root.not_after)
    cert = store.add_organisation(organisation, root_password=root_password, org_password=org_password,
                                  not_before=start, not_after=end)
    _show([
        ("organisation", organisation),
        ("ca", cert.subject),
        ("serial", f"{cert.serial:032x}"),
        ("valid", f"{cert.not_before.isoformat()} .. {cert.not_after.isoformat()}"),
        ("cert", store.directory / "orgs" / organisation / "ca.pem"),
        ("crl", store.crl_path(organisation)),
    ])


def _public_key(text: str) -> PublicKey:
    path = Path(text)
    if path.is_file():
        return PublicKey.from_hex(public_info(path)["public_key"])
    return PublicKey.from_hex(text)


@ca.command("issue")
@dir_option
@click.option("--org", "organisation", required=True, help="The organisation whose CA signs (see `chain ca add-org`).")
@click.option("--role", type=ROLE_CHOICE, required=True, help="The holder's role, written as the subject OU.")
@click.option("--cn", "common_name", required=True, help="The holder's name, e.g. peer0, alice, sensor-17.")
@click.option("--public-key", "public_key",
              help="Certify an existing key: a key file from `chain keys new` (no password needed) or its public key hex. "
                   "Without it a new key pair is generated and saved encrypted next to the certificate.")
@click.option("--key-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to save a generated key (default: next to the certificate).")
@click.option("--key-password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Password for a generated key (else $CHAIN_KEY_PASSWORD, else a prompt).")
@click.option("--dns", "dns_names", multiple=True, help="DNS subjectAltName (node/gateway only; repeatable).")
@click.option("--ip", "ip_addresses", multiple=True, help="IP subjectAltName (node/gateway only; repeatable).")
@_days(365, "certificate (never beyond its CA's)")
@password_file_option
def issue(directory: Path, organisation: str, role: str, common_name: str, public_key: str | None, key_out: Path | None,
          key_password_file: Path | None, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...], days: int,
          password_file: Path | None) -> None:
    """Issue a node, gateway, user, device or admin certificate.

    The organisation's CA signs it: subject O=ORG, OU=ROLE, CN=NAME. Needs
    the organisation CA's key password (--password-file).

    \b
    Examples:
      chain ca issue --org org1 --role node --cn peer0 --dns localhost --ip 127.0.0.1
      chain ca issue --org org1 --role user --cn alice --public-key alice.key
    """
    store = CAStore.open(directory)
    org_ca = store.intermediate(organisation)
    subject_key = _public_key(public_key) if public_key is not None else None
    ca_password = get_password(password_file, what=f"{organisation} CA key password")
    key_password = None
    if subject_key is None:
        key_password = get_password(key_password_file, confirm=True, what="password for the new key")
    start, end = _validity(days)
    end = min(end, org_ca.not_after)
    record = store.issue(organisation, role, common_name, ca_password=ca_password, public_key=subject_key,
                         key_password=key_password, key_path=key_out, dns_names=dns_names, ip_addresses=ip_addresses,
                         not_before=start, not_after=end)
    rows: list[tuple[str, object]] = [
        ("subject", f"CN={common_name},OU={role},O={organisation}"),
        ("serial", record.serial_hex),
        ("valid", f"{record.not_before.isoformat()} .. {record.not_after.isoformat()}"),
        ("cert", store.path(record.cert_file)),
    ]
    if record.key_file is not None:
        rows.append(("key", store.path(record.key_file)))
    _show(rows)


def _serial_of(text: str) -> int:
    path = Path(text)
    if path.is_file():
        return Certificate.parse(path.read_bytes()).serial
    return parse_serial(text)


@ca.command("revoke")
@dir_option
@click.argument("certificate", metavar="SERIAL|CERT_FILE")
@click.option("--reason", type=REASON_CHOICE, default="unspecified", show_default=True, help="RFC 5280 revocation reason.")
@password_file_option
def revoke(directory: Path, certificate: str, reason: str, password_file: Path | None) -> None:
    """Revoke a certificate and re-sign its issuer's CRL.

    Give the serial (as `issue` and `list` print it) or the certificate file.
    Needs the password of the CA that issued it: the organisation CA for a leaf,
    the root for an organisation CA.

    Example: chain ca revoke 3fa2c1d45e0b... --reason keyCompromise
    """
    store = CAStore.open(directory)
    serial = _serial_of(certificate)
    record = store.record(serial)
    who = "root" if record.issuer == ROOT else f"{record.issuer} CA"
    password = get_password(password_file, what=f"{who} key password")
    crl = store.revoke(serial, ca_password=password, reason=RevocationReason.parse(reason))
    _show([
        ("revoked", f"CN={record.common_name},OU={record.role},O={record.organisation}"),
        ("serial", record.serial_hex),
        ("reason", RevocationReason.parse(reason).rfc_name),
        ("crl", f"{store.crl_path(record.issuer)} (number {crl.number}, {len(crl.entries)} revoked)"),
    ])


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time such as 2030-01-31T12:00:00Z", param_hint="--at") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _read_all(paths: tuple[Path, ...], parse: Callable[[bytes], list[Any]]) -> list[Any]:
    return [item for path in paths for item in parse(path.read_bytes())]


@ca.command("verify")
@dir_option
@click.argument("cert_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--role", "expected_role", type=click.Choice([r.value for r in LEAF_ROLES] + ["ca"]), help="Also require this role.")
@click.option("--at", "at_text", metavar="TIME", help="Judge validity at this ISO 8601 time (default: now; UTC if no zone).")
@click.option("--root", "root_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust this root instead of the store's (repeatable; then --intermediate/--crl give the rest).")
@click.option("--intermediate", "intermediate_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Intermediate CA certificate(s) (with --root).")
@click.option("--crl", "crl_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CRL file(s) to check revocation against (with --root).")
def verify(directory: Path, cert_file: Path, expected_role: str | None, at_text: str | None, root_files: tuple[Path, ...],
           intermediate_files: tuple[Path, ...], crl_files: tuple[Path, ...]) -> None:
    """Verify a certificate against the root, the CRLs and a role.

    Checks the chain up to the root, every signature, validity periods, the
    CRLs and (with --role) the role. Prints `OK ...` and exits 0, or prints `error: <reason>: <detail>` and
    exits 1. Reasons: expired, not_yet_valid, revoked, wrong_issuer,
    wrong_role, bad_signature, unknown_root, not_a_ca, path_too_long,
    malformed, suite_mismatch.

    \b
    Examples:
      chain ca verify ca/orgs/org1/issued/node-peer0-<serial>.pem --role node
      chain ca verify peer0.pem --root root.pem --intermediate org1.pem --crl org1.crl
    """
    at = _parse_at(at_text)
    data = cert_file.read_bytes()
    try:
        if root_files:
            result = verify_chain(
                data,
                _read_all(intermediate_files, parse_certificates),
                _read_all(root_files, parse_certificates),
                [RevocationList.parse(p.read_bytes()) for p in crl_files],
                at,
                expected_role,
            )
        else:
            result = CAStore.open(directory).verify(data, at, expected_role)
    except CertificateVerificationError as exc:
        click.echo(f"error: {exc.reason}: {exc}", err=True)
        sys.exit(1)
    _print_ok(result)


def _print_ok(result: VerifiedChain) -> None:
    leaf = result.leaf
    click.echo(f"OK {leaf.subject}")
    _show([
        ("role", leaf.role),
        ("organisation", leaf.organisation),
        ("serial", f"{leaf.serial:032x}"),
        ("suite", leaf.suite.name),
        ("valid", f"{leaf.not_before.isoformat()} .. {leaf.not_after.isoformat()}"),
        ("chain", " <- ".join(str(c.subject.common_name) for c in result.path)),
        ("fingerprint", leaf.fingerprint.hex()),
    ])


def _crl_rows(store: CAStore, issuer: str, crl: RevocationList) -> list[tuple[str, object]]:
    return [
        ("issuer", f"{issuer} ({crl.issuer})"),
        ("file", store.crl_path(issuer)),
        ("number", crl.number),
        ("this update", crl.this_update.isoformat()),
        ("next update", crl.next_update.isoformat() if crl.next_update else "-"),
        ("revoked", len(crl.entries)),
    ]


@ca.command("crl")
@dir_option
@click.argument("issuer", required=False, metavar="[root|ORG]")
@click.option("--update", is_flag=True, help="Re-sign the CRL now (new number, fresh next-update); needs that CA's password.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the CRL (PEM) to this file.")
@password_file_option
def crl(directory: Path, issuer: str | None, update: bool, out: Path | None, password_file: Path | None) -> None:
    """Show, re-sign or export certificate revocation lists.

    Each CA (the root and every organisation CA) publishes its own CRL; the
    store re-signs it on every `revoke`. Without ISSUER, summarise all CRLs.

    \b
    Examples:
      chain ca crl                     # every issuer's CRL
      chain ca crl org1 --out org1.crl # show org1's CRL and export it
      chain ca crl org1 --update       # re-sign before next update passes
    """
    store = CAStore.open(directory)
    if issuer is None:
        if update or out is not None:
            raise click.UsageError("--update and --out need an ISSUER (root or an organisation)")
        for name in store.issuers():
            _show(_crl_rows(store, name, store.crl(name)))
            click.echo("")
        return
    if update:
        who = "root" if issuer == ROOT else f"{issuer} CA"
        current = store.update_crl(issuer, ca_password=get_password(password_file, what=f"{who} key password"))
    else:
        current = store.crl(issuer)
    _show(_crl_rows(store, issuer, current))
    for entry in current.entries:
        click.echo(f"  {entry.serial:032x}  {entry.revoked_at.isoformat()}  {entry.reason.rfc_name}")
    if out is not None:
        out.write_text(current.pem)
        click.echo(f"written {out}")


@ca.command("list")
@dir_option
def list_(directory: Path) -> None:
    """List every certificate the store issued, with its status.

    Example: chain ca list --dir ./ca
    """
    store = CAStore.open(directory)
    click.echo(f"{'serial':32}  {'status':7}  {'role':7}  {'organisation':14}  {'not after':25}  common name")
    for r in store.records():
        click.echo(f"{r.serial_hex}  {r.status:7}  {r.role:7}  {r.organisation:14}  {r.not_after.isoformat():25}  {r.common_name}")

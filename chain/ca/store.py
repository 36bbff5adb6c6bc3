"""The CA store: a directory holding the root, each organisation's intermediate, keys, the index and CRLs.

Layout (paths relative to the store directory):

    store.json                  suite, consortium name, key protection settings (written once)
    index.json                  every certificate issued: serial -> subject, role, org, status, files;
                                and the last CRL number of each issuer
    root/ca.pem  root/ca.key  root/crl.pem            the root, its encrypted key, its CRL
    orgs/<org>/ca.pem  ca.key  crl.pem                 an organisation's intermediate CA
    orgs/<org>/issued/<role>-<cn>-<serial>.pem [.key]  leaves (the key only when the store generated it)

Every file is written atomically (temp file, fsync, rename); private keys only
through the keystore (encrypted, 0600). index.json is the source of truth: a
revocation is recorded there first, then the issuer's CRL is re-signed from it.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from chain.atomic_file import write_atomic
from chain.ca.certificate import Certificate
from chain.ca.crl import DEFAULT_CRL_VALIDITY, RevocationList, issue_crl
from chain.ca.errors import (
    AlreadyRevokedError,
    CAError,
    CAKeyError,
    DuplicateCertificateError,
    OrganisationExistsError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    UnknownCertificateError,
    UnknownOrganisationError,
)
from chain.ca.issue import CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.ca.names import Role, check_organisation, parse_role
from chain.ca.profile import RevocationReason, RevokedCertificate, utc
from chain.ca.verify import VerifiedChain, verify_chain
from chain.crypto import CryptoSuite, PublicKey, get_suite
from chain.crypto.keystore import DEFAULT_SCRYPT_N, KeystoreError, load_key, save_key

FORMAT = "chain-ca-store"
VERSION = 1
ROOT = "root"  # issuer name of the root in index.json and in file paths
META_FILE = "store.json"
INDEX_FILE = "index.json"
LOCK_FILE = ".lock"
VALID, REVOKED = "valid", "revoked"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class IssuedRecord:
    """One line of the index: a certificate the store issued and what became of it."""

    serial: int
    common_name: str
    organisation: str
    role: str
    issuer: str  # "root" for intermediates, else the issuing organisation
    status: str  # "valid" or "revoked"
    cert_file: str  # relative to the store directory
    key_file: str | None
    not_before: datetime
    not_after: datetime
    fingerprint: str
    revoked_at: datetime | None = None
    reason: str | None = None  # RFC 5280 spelling, e.g. keyCompromise

    @property
    def serial_hex(self) -> str:
        """The serial as 32 lowercase hex digits (how the CLI shows and accepts it)."""
        return f"{self.serial:032x}"

    def to_json(self) -> dict[str, Any]:
        """The index entry."""
        data = asdict(self)
        data["serial"] = self.serial_hex
        for key in ("not_before", "not_after", "revoked_at"):
            data[key] = _iso(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IssuedRecord:
        """Parse an index entry."""
        fields = dict(data)
        fields["serial"] = int(fields["serial"], 16)
        for key in ("not_before", "not_after", "revoked_at"):
            fields[key] = _from_iso(fields.get(key))
        return cls(**fields)


def parse_serial(text: str) -> int:
    """A serial from hex text: 32 digits as the CLI prints, colons (openssl style) and a 0x prefix allowed."""
    cleaned = text.strip().lower().replace(":", "")
    cleaned = cleaned[2:] if cleaned.startswith("0x") else cleaned
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise UnknownCertificateError(f"{text!r} is not a serial number (hex digits expected)") from None
    if value <= 0:
        raise UnknownCertificateError(f"{text!r} is not a valid serial number")
    return value


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write data to path through a temp file, fsync and rename, so readers see the old or the new file."""
    write_atomic(path, data, mode)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=True).encode() + b"\n"


def _now(now: datetime | None) -> datetime:
    return utc(now) if now is not None else utc(datetime.now(timezone.utc))


class CAStore:
    """A consortium CA kept in one directory; create with CAStore.init, reopen with CAStore.open."""

    def __init__(self, directory: Path, meta: dict[str, Any]) -> None:
        self.directory = directory
        self.suite: CryptoSuite = get_suite(meta["suite"])
        self.consortium: str = meta["consortium"]
        self.scrypt_n: int = int(meta["scrypt_n"])
        self.crl_validity = timedelta(days=int(meta["crl_validity_days"]))

    # ----- opening -------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str],
        *,
        suite: CryptoSuite | str,
        consortium: str,
        password: bytes,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        crl_validity: timedelta = DEFAULT_CRL_VALIDITY,
        now: datetime | None = None,
    ) -> CAStore:
        """Create a store with a new root CA (key encrypted with password) and its empty CRL."""
        target = Path(directory)
        if (target / META_FILE).exists():
            raise StoreExistsError(f"{target} already holds a CA store; refusing to create another")
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise StoreExistsError(f"{target} exists and is not an empty directory; choose a new --dir")
        chosen = get_suite(suite) if isinstance(suite, str) else suite
        if crl_validity.days < 1:
            raise CAError("the CRL validity must be at least one day", code="invalid_validity")
        pair = chosen.generate_keypair()
        root = create_root(consortium, pair.private, not_before=not_before or now, not_after=not_after)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "suite": chosen.name,
            "consortium": consortium,
            "scrypt_n": scrypt_n,
            "crl_validity_days": crl_validity.days,
        }
        target.mkdir(parents=True, exist_ok=True)
        store = cls(target, meta)
        with store._lock():
            save_key(store._key_path(ROOT), pair.private, password, label=f"{consortium} root CA", scrypt_n=scrypt_n)
            _write_atomic(store._cert_path(ROOT), root.pem.encode())
            record = store._record_for(root, ROOT, store._cert_path(ROOT), store._key_path(ROOT))
            index = {"certificates": {record.serial_hex: record.to_json()}, "crl_numbers": {}}
            store._publish_crl(CertificateAuthority(root, pair.private), index, ROOT, _now(now))
            _write_atomic(target / META_FILE, _json_bytes(meta))
        return store

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> CAStore:
        """Open an existing store."""
        target = Path(directory)
        meta_path = target / META_FILE
        if not meta_path.is_file():
            raise StoreNotFoundError(f"no CA store at {target} (missing {META_FILE}); create one with `chain ca init --dir {target}`")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{meta_path} is unreadable: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise StoreError(f"{meta_path} is not a chain CA store")
        if meta.get("version") != VERSION:
            raise StoreError(f"{meta_path} has store version {meta.get('version')!r}; this build reads {VERSION}")
        try:
            return cls(target, meta)
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"{meta_path} is damaged: {exc}") from None

    # ----- paths and reading ---------------------------------------------------------------

    def _issuer_dir(self, issuer: str) -> Path:
        return self.directory / ROOT if issuer == ROOT else self.directory / "orgs" / issuer

    def _cert_path(self, issuer: str) -> Path:
        return self._issuer_dir(issuer) / "ca.pem"

    def _key_path(self, issuer: str) -> Path:
        return self._issuer_dir(issuer) / "ca.key"

    def crl_path(self, issuer: str) -> Path:
        """Where the CRL of issuer ("root" or an organisation) lives."""
        return self._issuer_dir(issuer) / "crl.pem"

    def path(self, relative: str) -> Path:
        """An index path made absolute."""
        return self.directory / relative

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.directory))
        except ValueError:
            return str(path)

    def _read_index(self) -> dict[str, Any]:
        try:
            index = json.loads((self.directory / INDEX_FILE).read_text())
        except FileNotFoundError:
            raise StoreError(f"{self.directory / INDEX_FILE} is missing; the store is incomplete") from None
        except ValueError as exc:
            raise StoreError(f"{self.directory / INDEX_FILE} is damaged: {exc}") from None
        return index

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise writers (another `chain ca` process on the same store waits)."""
        with open(self.directory / LOCK_FILE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_cert(self, path: Path) -> Certificate:
        try:
            return Certificate.parse(path.read_bytes())
        except FileNotFoundError:
            raise StoreError(f"{path} is missing from the CA store") from None

    @property
    def root(self) -> Certificate:
        """The consortium root certificate."""
        return self._read_cert(self._cert_path(ROOT))

    def organisations(self) -> list[str]:
        """Organisations that have an intermediate CA, sorted."""
        return sorted(r.organisation for r in self.records() if r.role == Role.CA.value)

    def _require_org(self, org: str) -> None:
        if org == ROOT:
            return
        if org not in self.organisations():
            known = ", ".join(self.organisations()) or "none yet"
            raise UnknownOrganisationError(f"unknown organisation {org!r} (known: {known}); add it with `chain ca add-org {org}`")

    def intermediate(self, org: str) -> Certificate:
        """The intermediate CA certificate of an organisation."""
        self._require_org(org)
        return self._read_cert(self._cert_path(org))

    def records(self) -> list[IssuedRecord]:
        """Every certificate in the index, root first, then by organisation, role and name."""
        items = [IssuedRecord.from_json(v) for v in self._read_index()["certificates"].values()]
        order = {Role.ROOT.value: 0, Role.CA.value: 1}
        return sorted(items, key=lambda r: (order.get(r.role, 2), r.organisation, r.role, r.common_name, r.serial))

    def record(self, serial: int) -> IssuedRecord:
        """The index entry of a serial."""
        entry = self._read_index()["certificates"].get(f"{serial:032x}")
        if entry is None:
            raise UnknownCertificateError(f"no certificate with serial {serial:032x} in {self.directory}")
        return IssuedRecord.from_json(entry)

    def certificate(self, serial: int) -> Certificate:
        """The certificate of a serial."""
        return self._read_cert(self.path(self.record(serial).cert_file))

    def crl(self, issuer: str) -> RevocationList:
        """The current CRL of issuer ("root" or an organisation)."""
        self._require_org(issuer)
        path = self.crl_path(issuer)
        try:
            return RevocationList.parse(path.read_bytes())
        except FileNotFoundError:
            raise StoreError(f"{path} is missing; re-sign it with `chain ca crl {issuer} --update`") from None

    def issuers(self) -> list[str]:
        """"root" followed by every organisation."""
        return [ROOT, *self.organisations()]

    def crls(self) -> list[RevocationList]:
        """The CRLs of the root and of every organisation."""
        return [self.crl(issuer) for issuer in self.issuers()]

    def verify(self, certificate: Certificate | bytes | str, at: datetime, expected_role: Role | str | None = None) -> VerifiedChain:
        """verify_chain against this store's root, intermediates and CRLs."""
        intermediates = [self.intermediate(org) for org in self.organisations()]
        return verify_chain(certificate, intermediates, [self.root], self.crls(), at, expected_role, suite=self.suite)

    # ----- writing -------------------------------------------------------------------------

    def _load_ca(self, issuer: str, password: bytes) -> CertificateAuthority:
        who = "root" if issuer == ROOT else f"{issuer!r}"
        path = self._key_path(issuer)
        try:
            key = load_key(path, password)
        except KeystoreError as exc:
            raise CAKeyError(f"cannot open the {who} CA key {path}: {exc}", code=exc.code) from None
        return CertificateAuthority(self._read_cert(self._cert_path(issuer)), key)

    def _record_for(self, cert: Certificate, issuer: str, cert_path: Path, key_path: Path | None) -> IssuedRecord:
        return IssuedRecord(
            serial=cert.serial,
            common_name=cert.common_name or "",
            organisation=cert.organisation or "",
            role=cert.role or "",
            issuer=issuer,
            status=VALID,
            cert_file=self._relative(cert_path),
            key_file=self._relative(key_path) if key_path is not None else None,
            not_before=cert.not_before,
            not_after=cert.not_after,
            fingerprint=cert.fingerprint.hex(),
        )

    def _publish_crl(self, ca: CertificateAuthority, index: dict[str, Any], issuer: str, now: datetime) -> RevocationList:
        """Sign the next CRL of issuer from index, then write index and CRL (index first: it is the truth)."""
        entries = [
            RevokedCertificate(r.serial, r.revoked_at or now, RevocationReason.parse(r.reason or "unspecified"))
            for r in (IssuedRecord.from_json(v) for v in index["certificates"].values())
            if r.issuer == issuer and r.status == REVOKED
        ]
        number = int(index["crl_numbers"].get(issuer, 0)) + 1
        crl = issue_crl(ca, entries, number=number, this_update=now, next_update=now + self.crl_validity)
        index["crl_numbers"][issuer] = number
        _write_atomic(self.directory / INDEX_FILE, _json_bytes(index))
        _write_atomic(self.crl_path(issuer), crl.pem.encode())
        return crl

    def add_organisation(
        self,
        organisation: str,
        *,
        root_password: bytes,
        org_password: bytes | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        now: datetime | None = None,
    ) -> Certificate:
        """Issue an organisation's intermediate CA (new key, encrypted with org_password or else root_password)."""
        org = check_organisation(organisation)
        with self._lock():
            index = self._read_index()
            existing = [IssuedRecord.from_json(v) for v in index["certificates"].values()]
            if any(r.role == Role.CA.value and r.organisation.lower() == org.lower() for r in existing) or self._issuer_dir(org).exists():
                raise OrganisationExistsError(f"organisation {org!r} already has an intermediate CA in {self.directory}")
            root = self._load_ca(ROOT, root_password)
            pair = self.suite.generate_keypair()
            cert = issue_intermediate(root, org, pair.public, not_before=not_before or now, not_after=not_after)
            save_key(self._key_path(org), pair.private, org_password or root_password, label=f"{org} CA", scrypt_n=self.scrypt_n)
            _write_atomic(self._cert_path(org), cert.pem.encode())
            record = self._record_for(cert, ROOT, self._cert_path(org), self._key_path(org))
            index["certificates"][record.serial_hex] = record.to_json()
            self._publish_crl(CertificateAuthority(cert, pair.private), index, org, _now(now))
        return cert

    def issue(
        self,
        organisation: str,
        role: Role | str,
        common_name: str,
        *,
        ca_password: bytes,
        public_key: PublicKey | None = None,
        key_password: bytes | None = None,
        key_path: str | os.PathLike[str] | None = None,
        dns_names: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> IssuedRecord:
        """Issue a leaf in organisation: certify public_key, or generate a key pair saved with key_password."""
        leaf_role = parse_role(str(role), leaf_only=True)
        self._require_org(organisation)
        if public_key is None and key_password is None:
            raise CAError("give the holder's public key, or a password to encrypt the key pair the CA generates", code="missing_key")
        if public_key is not None and public_key.algorithm is not self.suite.signature_algorithm:
            raise CAError(
                f"the public key is {public_key.algorithm.name}; this {self.suite.name} CA certifies "
                f"{self.suite.signature_algorithm.name} keys",
                code="suite_mismatch",
            )
        with self._lock():
            index = self._read_index()
            for r in (IssuedRecord.from_json(v) for v in index["certificates"].values()):
                if r.organisation == organisation and r.role == leaf_role.value and r.common_name == common_name and r.status == VALID:
                    raise DuplicateCertificateError(
                        f"{organisation!r} already has a valid {leaf_role} certificate for {common_name!r} "
                        f"(serial {r.serial_hex}); revoke it first to re-issue"
                    )
            ca = self._load_ca(organisation, ca_password)
            pair = self.suite.generate_keypair() if public_key is None else None
            subject_key = pair.public if pair is not None else public_key
            assert subject_key is not None
            cert = issue_leaf(
                ca, common_name, leaf_role, subject_key,
                dns_names=dns_names, ip_addresses=ip_addresses, not_before=not_before, not_after=not_after,
            )
            stem = f"{leaf_role}-{_SLUG.sub('_', common_name)[:40]}-{cert.serial:032x}"
            cert_path = self._issuer_dir(organisation) / "issued" / f"{stem}.pem"
            saved_key: Path | None = None
            if pair is not None:
                assert key_password is not None
                saved_key = Path(key_path) if key_path is not None else cert_path.with_suffix(".key")
                save_key(saved_key, pair.private, key_password, label=f"{common_name}@{organisation} ({leaf_role})", scrypt_n=self.scrypt_n)
            _write_atomic(cert_path, cert.pem.encode())
            record = self._record_for(cert, organisation, cert_path, saved_key)
            index["certificates"][record.serial_hex] = record.to_json()
            _write_atomic(self.directory / INDEX_FILE, _json_bytes(index))
        return record

    def revoke(
        self,
        serial: int,
        *,
        ca_password: bytes,
        reason: RevocationReason | str = RevocationReason.UNSPECIFIED,
        at: datetime | None = None,
    ) -> RevocationList:
        """Mark serial revoked in the index and re-sign its issuer's CRL (ca_password opens that issuer's key)."""
        why = RevocationReason.parse(reason) if isinstance(reason, str) else reason
        when = _now(at)
        with self._lock():
            index = self._read_index()
            key = f"{serial:032x}"
            if key not in index["certificates"]:
                raise UnknownCertificateError(f"no certificate with serial {key} in {self.directory}")
            record = IssuedRecord.from_json(index["certificates"][key])
            if record.role == Role.ROOT.value:
                raise CAError(
                    "the root cannot be revoked; create a new store (and a new consortium root) instead", code="cannot_revoke_root"
                )
            if record.status == REVOKED:
                raise AlreadyRevokedError(f"serial {key} ({record.common_name}) was already revoked at {_iso(record.revoked_at)}")
            ca = self._load_ca(record.issuer, ca_password)  # the password check happens before any write
            revoked = replace(record, status=REVOKED, revoked_at=when, reason=why.rfc_name)
            index["certificates"][key] = revoked.to_json()
            return self._publish_crl(ca, index, record.issuer, when)

    def update_crl(self, issuer: str, *, ca_password: bytes, now: datetime | None = None) -> RevocationList:
        """Re-sign issuer's CRL from the index with fresh this/next update times and the next number."""
        self._require_org(issuer)
        with self._lock():
            index = self._read_index()
            ca = self._load_ca(issuer, ca_password)
            return self._publish_crl(ca, index, issuer, _now(now))

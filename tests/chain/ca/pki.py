"""A consortium hierarchy at fixed times, shared by the CA tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from chain.ca import (
    Certificate,
    CertificateAuthority,
    RevocationList,
    RevokedCertificate,
    create_root,
    issue_crl,
    issue_intermediate,
    issue_leaf,
)
from chain.ca.names import LEAF_ROLES
from chain.crypto import CryptoSuite, KeyPair

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
AT = T0 + timedelta(days=150)  # a "block time" inside every certificate's validity
FAST_SCRYPT_N = 2**10


@dataclass
class Pki:
    """A consortium hierarchy built at fixed times: root -> org1, org2 -> one leaf per role in org1."""

    suite: CryptoSuite
    root_ca: CertificateAuthority
    orgs: dict[str, CertificateAuthority]
    leaves: dict[str, Certificate] = field(default_factory=dict)
    leaf_keys: dict[str, KeyPair] = field(default_factory=dict)

    @property
    def root(self) -> Certificate:
        return self.root_ca.certificate

    def org(self, name: str = "org1") -> Certificate:
        return self.orgs[name].certificate

    def leaf(self, role: str = "node") -> Certificate:
        return self.leaves[role]

    def issue(self, org: str, cn: str, role: str, **kwargs: object) -> tuple[Certificate, KeyPair]:
        pair = self.suite.generate_keypair()
        kwargs.setdefault("not_before", T0)
        kwargs.setdefault("not_after", T0 + timedelta(days=365))
        return issue_leaf(self.orgs[org], cn, role, pair.public, **kwargs), pair  # type: ignore[arg-type]

    def crl(self, ca: CertificateAuthority, *revoked: RevokedCertificate, number: int = 1) -> RevocationList:
        return issue_crl(ca, revoked, number=number, this_update=T0 + timedelta(days=1), next_update=T0 + timedelta(days=400))


def make_pki(suite: CryptoSuite, consortium: str = "Demo") -> Pki:
    """Build the hierarchy (fast: a dozen signatures)."""
    root_key = suite.generate_keypair()
    root = create_root(consortium, root_key.private, not_before=T0, not_after=T0 + timedelta(days=3650))
    root_ca = CertificateAuthority(root, root_key.private)
    orgs = {}
    for org in ("org1", "org2"):
        pair = suite.generate_keypair()
        cert = issue_intermediate(root_ca, org, pair.public, not_before=T0, not_after=T0 + timedelta(days=1825))
        orgs[org] = CertificateAuthority(cert, pair.private)
    pki = Pki(suite, root_ca, orgs)
    for role in LEAF_ROLES:
        extra = {"dns_names": ["localhost"], "ip_addresses": ["127.0.0.1"]} if role in ("node", "gateway") else {}
        pki.leaves[role], pki.leaf_keys[role] = pki.issue("org1", f"{role}0", role, **extra)
    return pki

"""A classic consortium PKI valid now (OpenSSL checks validity with the wall clock), built in memory."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from chain.ca import Certificate, CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.crypto import CLASSIC, PrivateKey
from chain.net import PeerSpec, TlsIdentity, TrustAnchors

START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=30)


@dataclass
class Pki:
    """Root, two organisation CAs, and node identities issued on demand."""

    root: CertificateAuthority
    orgs: dict[str, CertificateAuthority]
    identities: dict[str, TlsIdentity] = field(default_factory=dict)

    @property
    def trust(self) -> TrustAnchors:
        return TrustAnchors((self.root.certificate,), tuple(ca.certificate for ca in self.orgs.values()))

    def leaf(self, name: str, role: str = "node", org: str = "org1", **kwargs: object) -> tuple[Certificate, PrivateKey]:
        key = CLASSIC.generate_keypair().private
        if role in ("node", "gateway"):
            kwargs.setdefault("dns_names", ("localhost",))
            kwargs.setdefault("ip_addresses", ("127.0.0.1",))
        kwargs.setdefault("not_before", START)
        return issue_leaf(self.orgs[org], name, role, key.public_key(), **kwargs), key  # type: ignore[arg-type]

    def identity(self, name: str, org: str = "org1", **kwargs: object) -> TlsIdentity:
        """A node identity (cached by name)."""
        if name not in self.identities:
            cert, key = self.leaf(name, "node", org, **kwargs)
            self.identities[name] = TlsIdentity(cert, (self.orgs[org].certificate,), key)
        return self.identities[name]

    def spec(self, name: str, port: int | None = None) -> PeerSpec:
        """The PeerSpec of a node identity, dialled on 127.0.0.1:port when a port is given."""
        cert = self.identity(name).certificate
        return PeerSpec(name, cert, "127.0.0.1" if port else None, port)


def make_pki(consortium: str = "Demo", start: datetime = START) -> Pki:
    """A fresh hierarchy whose certificates are valid now."""
    root_key = CLASSIC.generate_keypair().private
    root = CertificateAuthority(create_root(consortium, root_key, not_before=start), root_key)
    orgs = {}
    for org in ("org1", "org2"):
        key = CLASSIC.generate_keypair().private
        orgs[org] = CertificateAuthority(issue_intermediate(root, org, key.public_key(), not_before=start), key)
    return Pki(root, orgs)

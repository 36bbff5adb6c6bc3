"""A complete founding consortium built in memory: for development, demos and tests.

Production consortia build the same objects from their CA store (`chain ca ...`);
this module only saves the ceremony when everything runs on one machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from chain.ca import Certificate, CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.crypto import Address, PrivateKey, get_suite
from chain.ledger.execution.certificates import to_ms
from chain.ledger.genesis import GenesisConfig, GenesisNode, GenesisUser
from chain.ledger.model import LedgerSettings


@dataclass
class Member:
    """An identity with its key and certificate."""

    name: str
    organisation: str
    key: PrivateKey
    certificate: Certificate

    @property
    def address(self) -> bytes:
        """Ledger address bytes."""
        return Address.of(self.key.public_key(), self.certificate.suite.hash_algorithm).encode()


@dataclass
class Devnet:
    """Root CA, one CA per organisation, validators and admins, and the genesis config."""

    suite_name: str
    root: CertificateAuthority
    orgs: dict[str, CertificateAuthority]
    validators: list[Member]
    admins: list[Member]
    genesis: GenesisConfig
    start: datetime
    extra: dict[str, Member] = field(default_factory=dict)

    def issue(self, org: str, name: str, role: str = "user") -> Member:
        """A new key and leaf certificate in an organisation (not yet registered on the ledger)."""
        key = get_suite(self.suite_name).generate_keypair().private
        cert = issue_leaf(self.orgs[org], name, role, key.public_key(), not_before=self.start)
        member = Member(name, org, key, cert)
        self.extra[name] = member
        return member

    def time_ms(self, offset_s: int = 0) -> int:
        """A block timestamp offset_s seconds after the consortium's start."""
        return to_ms(self.start + timedelta(seconds=offset_s))


def build_devnet(
    suite_name: str = "classic",
    organisations: tuple[str, ...] = ("org1", "org2"),
    validators: int = 1,
    ledger_name: str = "dev",
    start: datetime | None = None,
) -> Devnet:
    """A consortium whose genesis registers every org, `validators` nodes and one admin per org."""
    suite = get_suite(suite_name)
    begin = (start or datetime.now(timezone.utc)).replace(microsecond=0) - timedelta(minutes=1)
    root_key = suite.generate_keypair().private
    root = CertificateAuthority(create_root(f"{ledger_name} consortium", root_key, not_before=begin), root_key)
    orgs: dict[str, CertificateAuthority] = {}
    for org in organisations:
        key = suite.generate_keypair().private
        orgs[org] = CertificateAuthority(issue_intermediate(root, org, key.public_key(), not_before=begin), key)
    nodes, admins = [], []
    for i in range(validators):
        org = organisations[i % len(organisations)]
        key = suite.generate_keypair().private
        cert = issue_leaf(orgs[org], f"node{i}", "node", key.public_key(), not_before=begin,
                          dns_names=("localhost",), ip_addresses=("127.0.0.1",))
        nodes.append(Member(f"node{i}", org, key, cert))
    for org in organisations:
        key = suite.generate_keypair().private
        cert = issue_leaf(orgs[org], f"admin@{org}", "admin", key.public_key(), not_before=begin)
        admins.append(Member(f"admin@{org}", org, key, cert))
    genesis = GenesisConfig(
        settings=LedgerSettings(ledger_name, suite.name),
        timestamp_ms=to_ms(begin + timedelta(seconds=1)),
        roots=(root.certificate.der,),
        participants=tuple((org, ca.certificate.der) for org, ca in orgs.items()),
        nodes=tuple(GenesisNode(n.certificate.der, n.key.public_key().encode()) for n in nodes),
        users=tuple(GenesisUser(a.certificate.der, ("ADMIN",)) for a in admins),
    )
    return Devnet(suite.name, root, orgs, nodes, admins, genesis, begin)

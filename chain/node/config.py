"""Node configuration (JSON file): where its key and ledgers live, where it listens, and how it reaches consensus.

The optional "consensus" object is the contract between a node's config and the
BFT engine (see docs/node.md, "A local consortium"). Without it the node is the
single validator of its ledgers (solo).
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chain.crypto.address import Address
from chain.crypto.errors import CryptoError
from chain.json_file import read_json_object
from chain.ledger.errors import LedgerError, ResultCode

if TYPE_CHECKING:
    from chain.net import PeerSpec, TlsIdentity, TrustAnchors


class ConfigError(LedgerError):
    """The node configuration is missing a field or holds a bad value."""

    result = ResultCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class LedgerEntry:
    """One hosted ledger: a name clients use and its database directory."""

    name: str
    path: Path


@dataclass(frozen=True)
class ConsensusPeer:
    """Another validator: its node id (the validator's ledger address, Base58Check), TLS certificate and P2P address."""

    id: str
    certificate: Path
    host: str
    port: int


@dataclass(frozen=True)
class ConsensusConfig:
    """The "consensus" section of node.json (type "bft"): P2P listener, TLS identity and trust, peers, timing."""

    type: str
    p2p_host: str
    p2p_port: int
    tls_certificate: Path
    tls_key: Path
    tls_roots: tuple[Path, ...]
    tls_intermediates: tuple[Path, ...]
    peers: tuple[ConsensusPeer, ...]
    round_timeout_ms: int = 1_000
    max_round_timeout_ms: int = 8_000
    idle_proposal_ms: int = 250
    min_block_interval_ms: int = 250
    batch_size: int = 500
    batch_timeout_ms: int = 50

    def tls_identity(self, password: bytes) -> TlsIdentity:
        """Our chain.net identity: the TLS certificate, its issuing CA (from tls_intermediates), the decrypted TLS key."""
        from chain.net import TlsIdentity

        identity = TlsIdentity.load(self.tls_certificate, self.tls_key, password)
        if identity.chain:  # the certificate file already carries its CA
            return identity
        issuers = [c for c in self.trust_anchors().intermediates if c.subject == identity.certificate.issuer]
        return TlsIdentity(identity.certificate, tuple(issuers), identity.key)

    def trust_anchors(self) -> TrustAnchors:
        """The TLS roots and organisation CAs every peer certificate must chain to (CRLs: add with_crls)."""
        from chain.net import TrustAnchors

        return TrustAnchors.load(self.tls_roots, self.tls_intermediates)

    def peer_specs(self) -> list[PeerSpec]:
        """chain.net PeerSpecs of the other validators (node id = validator address)."""
        from chain.ca import CAError, Certificate
        from chain.net import PeerSpec

        specs = []
        for peer in self.peers:
            try:
                certificate = Certificate.parse(peer.certificate.read_bytes())
            except OSError as exc:
                raise ConfigError(f"peer {peer.id}: cannot read its certificate {peer.certificate}: {exc.strerror or exc}") from None
            except CAError as exc:
                raise ConfigError(f"peer {peer.id}: {peer.certificate} is not a certificate: {exc}") from None
            specs.append(PeerSpec(peer.id, certificate, peer.host, peer.port))
        return specs


CONSENSUS_TYPES = ("solo", "bft")
_CONSENSUS_INTS = {f.name: f.default for f in fields(ConsensusConfig)  # the timing fields and their defaults
                   if f.type == "int" and f.default is not MISSING}
_CONSENSUS_FIELDS = {"type", "p2p_listen", "tls_certificate", "tls_key", "tls_roots", "tls_intermediates", "peers",
                     *_CONSENSUS_INTS}
_LOCAL_HOSTS = {"", "0.0.0.0", "::", "localhost", "127.0.0.1", "::1"}


def _host_port(file: Path, field: str, text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{file}: field {field!r} must be host:port with a port in 1..65535, got {text!r}")
    return host.strip("[]"), int(port)


def _same_endpoint(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """Same port on the same host, counting loopback names and wildcard listeners as one host."""
    return a[1] == b[1] and (a[0] == b[0] or (a[0] in _LOCAL_HOSTS and b[0] in _LOCAL_HOSTS))


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _parse_consensus(file: Path, base: Path, section: object, client: tuple[str, int]) -> ConsensusConfig | None:
    """Validate the "consensus" object; None for solo."""
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: field 'consensus' must be an object")
    kind = section.get("type", "solo")
    if kind not in CONSENSUS_TYPES:
        raise ConfigError(f"{file}: field 'consensus.type' must be one of {', '.join(map(repr, CONSENSUS_TYPES))}, got {kind!r}")
    unknown = sorted(set(section) - _CONSENSUS_FIELDS)
    if unknown:
        raise ConfigError(f"{file}: field 'consensus.{unknown[0]}' is not a consensus setting; "
                          f"known: {', '.join(sorted(_CONSENSUS_FIELDS))}")
    if kind == "solo":
        extra = sorted(set(section) - {"type"})
        if extra:
            raise ConfigError(f"{file}: field 'consensus.{extra[0]}' applies to type 'bft' only; a solo node has no peers")
        return None

    def text(name: str, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{file}: field {name!r} is missing or not a non-empty string")
        return value

    def paths(name: str) -> tuple[Path, ...]:
        value = section.get(name)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{file}: field 'consensus.{name}' must be a non-empty list of file paths")
        return tuple(base / text(f"consensus.{name}[{i}]", item) for i, item in enumerate(value))

    listen = _host_port(file, "consensus.p2p_listen", text("consensus.p2p_listen", section.get("p2p_listen")))
    if _same_endpoint(listen, client):
        raise ConfigError(f"{file}: field 'consensus.p2p_listen' must differ from the client 'listen' address")
    entries = section.get("peers")
    if not isinstance(entries, list):
        raise ConfigError(f"{file}: field 'consensus.peers' is missing or not a list (the other validators; may be empty)")
    peers: list[ConsensusPeer] = []
    for i, entry in enumerate(entries):
        where = f"consensus.peers[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{file}: field {where!r} must be an object with 'id', 'certificate', 'host', 'port'")
        extra = sorted(set(entry) - {"id", "certificate", "host", "port"})
        if extra:
            raise ConfigError(f"{file}: field '{where}.{extra[0]}' is not a peer setting; known: certificate, host, id, port")
        node_id = text(f"{where}.id", entry.get("id"))
        try:
            Address.parse(node_id)
        except CryptoError as exc:
            raise ConfigError(f"{file}: field '{where}.id' must be the validator's ledger address: {exc}") from None
        certificate = base / text(f"{where}.certificate", entry.get("certificate"))
        host = text(f"{where}.host", entry.get("host"))
        port = entry.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ConfigError(f"{file}: field '{where}.port' must be an integer in 1..65535, got {port!r}")
        if any(p.id == node_id for p in peers):
            raise ConfigError(f"{file}: field '{where}.id': peer {node_id} is listed twice")
        if any(_same_endpoint((p.host, p.port), (host, port)) for p in peers):
            raise ConfigError(f"{file}: field '{where}.port': {host}:{port} is already another peer's address")
        if _same_endpoint((host, port), listen):
            raise ConfigError(f"{file}: field '{where}': {host}:{port} is this node's own p2p_listen address")
        peers.append(ConsensusPeer(node_id, certificate, host, port))
    timing: dict[str, int] = {}
    for name, default in _CONSENSUS_INTS.items():
        value = section.get(name, default)
        if not _positive_int(value):
            raise ConfigError(f"{file}: field 'consensus.{name}' must be a positive integer, got {value!r}")
        timing[name] = value
    if timing["max_round_timeout_ms"] < timing["round_timeout_ms"]:
        raise ConfigError(f"{file}: field 'consensus.max_round_timeout_ms' must be at least round_timeout_ms")
    return ConsensusConfig(
        kind, listen[0], listen[1],
        base / text("consensus.tls_certificate", section.get("tls_certificate")),
        base / text("consensus.tls_key", section.get("tls_key")),
        paths("tls_roots"), paths("tls_intermediates"), tuple(peers), **timing,
    )


@dataclass(frozen=True)
class NodeConfig:
    """Everything `chain node run` needs."""

    base: Path
    node_key: Path
    host: str
    port: int
    ledgers: tuple[LedgerEntry, ...]
    block_interval_ms: int | None = None
    password_file: Path | None = None
    consensus: ConsensusConfig | None = None

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        """Read and validate a config file; relative paths are relative to the file."""
        file = Path(path)
        data = read_json_object(file, ConfigError, "node config")
        base = file.resolve().parent

        def need(name: str, kind: type) -> object:
            value = data.get(name)
            if not isinstance(value, kind):
                raise ConfigError(f"{file}: field {name!r} is missing or not a {kind.__name__}")
            return value

        listen = str(need("listen", str))
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{file}: 'listen' must be host:port, got {listen!r}")
        ledgers = []
        entries: list[Any] = need("ledgers", list)  # type: ignore[assignment]
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("path"), str):
                raise ConfigError(f"{file}: ledgers[{i}] needs a 'name' and a 'path'")
            ledgers.append(LedgerEntry(entry["name"], base / entry["path"]))
        if not ledgers:
            raise ConfigError(f"{file}: at least one ledger is needed")
        if len({l.name for l in ledgers}) != len(ledgers):
            raise ConfigError(f"{file}: ledger names must be unique")
        interval = data.get("block_interval_ms")
        if interval is not None and (not isinstance(interval, int) or interval <= 0):
            raise ConfigError(f"{file}: 'block_interval_ms' must be a positive integer")
        pw = data.get("password_file")
        consensus = _parse_consensus(file, base, data["consensus"], (host.strip("[]"), int(port))) if "consensus" in data else None
        return cls(base, base / str(need("node_key", str)), host, int(port), tuple(ledgers), interval,
                   base / pw if isinstance(pw, str) else None, consensus)

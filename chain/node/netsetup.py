"""`chain net init`: a local consortium of N validators, one ready-to-run node directory each.

`chain node init` (devsetup) makes one node that is the only validator of its
ledgers; this module makes the multi-validator version of the same thing on
one machine:

    DIR/
      network.json            what was made: suite, ledgers, nodes (address, ports), genesis block hashes (written last)
      ca/                     the ledger-suite CA store (root, org1, org2): `chain ca --dir DIR/ca ...` issues more
      tls-ca/                 a classic (P-256) CA store for the P2P channel only: chain.net speaks classic TLS
      certs/                  the consortium's public certificates, as named by the genesis file(s)
      genesis-<ledger>.json   ONE genesis per ledger naming the N validators
      node<i>/                node.json, node.pw (0600), certs/ (a copy of DIR/certs + node.pem + tls/),
                              genesis-<ledger>.json (the same bytes), keys/{node,tls}.key,
                              keys/admin.key (admin@org1) and keys/admin-<org>.key (one admin per organisation),
                              ledgers/<ledger>/

With --spare S, S more node directories node<N>..node<N+S-1> are made with
certificates from their organisation's CA and every node knows every other as
a peer, but genesis seats only the first N: the spares start as observers and
become validators when the organisations register and approve them on chain.

Every node's ledger is created from the same genesis with a commit certificate
signed by all N validator keys, so all nodes start from the identical genesis
block. All keys (CA keys included) are encrypted with the one password stored
in each node's node.pw: this is a development layout, not a production one.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

from chain.atomic_file import write_atomic
from chain.ca import CAStore, Certificate
from chain.crypto import Address, PrivateKey, get_suite
from chain.crypto.keystore import save_key
from chain.ledger.chain_store import ChainStore
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.genesis_file import load_genesis_file
from chain.storage import open_store

log = logging.getLogger(__name__)

SUITES = ("classic", "sm")
MAX_NODES = 100
P2P_OFFSET = 100  # p2p port = client port + 100, so at most 100 nodes before the two ranges meet
HOST = "127.0.0.1"
ORGANISATIONS = ("org1", "org2")
CONSORTIUM = "local"
TLS_CONSORTIUM = "local-tls"
PASSWORD_FILE = "node.pw"
NETWORK_FILE = "network.json"
_NODE_DIR = re.compile(r"node(\d+)")
_LEDGER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class NetSetupError(LedgerError):
    """The network cannot be created as asked (bad arguments, or the directory already holds one)."""

    result = ResultCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class _Validator:
    name: str
    organisation: str
    key: PrivateKey
    certificate: Certificate
    tls_key: PrivateKey
    tls_certificate: Certificate
    address: str
    client_port: int
    p2p_port: int


def _check_arguments(directory: Path, nodes: int, suite: str, base_port: int, password: bytes, ledgers: Sequence[str],
                     spares: int = 0) -> None:
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise NetSetupError(f"the number of nodes must be 1..{MAX_NODES}, got {nodes!r}")
    if isinstance(spares, bool) or not isinstance(spares, int) or not 0 <= spares <= MAX_NODES - nodes:
        raise NetSetupError(f"the number of spare nodes must be 0..{MAX_NODES - nodes}, got {spares!r}")
    if spares and nodes < 2:
        raise NetSetupError("spare nodes join a BFT network: give --nodes 2 or more")
    nodes += spares
    if suite not in SUITES:
        raise NetSetupError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    last = base_port + P2P_OFFSET + nodes - 1
    if isinstance(base_port, bool) or not isinstance(base_port, int) or base_port < 1 or last > 65535:
        raise NetSetupError(f"base port {base_port!r} does not fit: {nodes} nodes need client ports base..base+{nodes - 1} "
                            f"and p2p ports base+{P2P_OFFSET}..base+{P2P_OFFSET + nodes - 1}, all in 1..65535")
    if not password or b"\n" in password or b"\r" in password:
        raise NetSetupError("the key password must be non-empty and a single line (it is stored in each node's password file)")
    if not ledgers or len(set(ledgers)) != len(ledgers):
        raise NetSetupError("give one or more distinct ledger names")
    for name in ledgers:
        if not _LEDGER_NAME.fullmatch(name):
            raise NetSetupError(f"ledger name {name!r} must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit")
    if directory.exists() and not directory.is_dir():
        raise NetSetupError(f"{directory} exists and is not a directory", ResultCode.ALREADY_EXISTS)
    if directory.is_dir():
        taken = sorted(p.name for p in directory.iterdir()
                       if _NODE_DIR.fullmatch(p.name) or p.name in (NETWORK_FILE, "ca", "tls-ca", "certs")
                       or (p.name.startswith("genesis-") and p.name.endswith(".json")))
        if taken:
            raise NetSetupError(f"{directory} already holds a network ({', '.join(taken[:4])}); "
                                "choose a new --dir or remove the old one (`chain net down` first)", ResultCode.ALREADY_EXISTS)


def init_network(
    directory: str | Path,
    *,
    nodes: int,
    suite: str,
    base_port: int = 7400,
    password: bytes,
    scrypt_n: int = 2**15,
    ledgers: Sequence[str] = ("main",),
    spares: int = 0,
) -> list[Path]:
    """Create DIR with N validator (and S spare) node directories; return their node.json paths (node0 first).

    Node i listens for clients on base_port + i and (N > 1) for its peers on
    base_port + 100 + i. With N = 1 the node gets a solo config (no
    "consensus" section), exactly like `chain node init`.
    """
    target = Path(directory)
    _check_arguments(target, nodes, suite, base_port, password, list(ledgers), spares)
    existed = target.is_dir()
    before = set(target.iterdir()) if existed else set()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return _build(target, nodes, suite, base_port, password, scrypt_n, list(ledgers), spares)
    except BaseException:
        # Leave nothing half-made: remove what this call created (and DIR itself if it created it).
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for path in set(target.iterdir()) - before:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise


def _pem_of(store: CAStore, relative: str) -> Certificate:
    return Certificate.parse(store.path(relative).read_bytes())


def _build(target: Path, n: int, suite_name: str, base_port: int, password: bytes, scrypt_n: int,
           ledgers: list[str], spares: int = 0) -> list[Path]:
    suite, classic = get_suite(suite_name), get_suite("classic")
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    orgs = ORGANISATIONS[:min(n, len(ORGANISATIONS))]
    ca = CAStore.init(target / "ca", suite=suite, consortium=CONSORTIUM, password=password, scrypt_n=scrypt_n, not_before=start)
    tls = CAStore.init(target / "tls-ca", suite=classic, consortium=TLS_CONSORTIUM, password=password, scrypt_n=scrypt_n,
                       not_before=start)
    for org in orgs:
        ca.add_organisation(org, root_password=password, not_before=start)
        tls.add_organisation(org, root_password=password, not_before=start)

    nodes = []
    for i in range(n + spares):
        org, name = orgs[i % len(orgs)], f"node{i}"
        key = suite.generate_keypair().private
        record = ca.issue(org, "node", name, ca_password=password, public_key=key.public_key(),
                          dns_names=("localhost",), ip_addresses=(HOST,), not_before=start)
        tls_key = classic.generate_keypair().private
        tls_record = tls.issue(org, "node", name, ca_password=password, public_key=tls_key.public_key(),
                               dns_names=("localhost",), ip_addresses=(HOST,), not_before=start)
        nodes.append(_Validator(
            name, org, key, _pem_of(ca, record.cert_file), tls_key, _pem_of(tls, tls_record.cert_file),
            str(Address.of(key.public_key(), suite.hash_algorithm)), base_port + i, base_port + P2P_OFFSET + i,
        ))
    validators = nodes[:n]
    admin_keys = {org: suite.generate_keypair().private for org in orgs}
    admin_records = {org: ca.issue(org, "admin", "admin", ca_password=password, public_key=admin_keys[org].public_key(),
                                   not_before=start) for org in orgs}

    # The consortium's public certificates and the one genesis file per ledger.
    certs = target / "certs"
    (certs / "validators").mkdir(parents=True)
    (certs / "root.pem").write_text(ca.root.pem)
    for org in orgs:
        (certs / f"{org}-ca.pem").write_text(ca.intermediate(org).pem)
    for v in nodes:
        (certs / "validators" / f"{v.name}.pem").write_text(v.certificate.pem)
    for org, record in admin_records.items():
        (certs / _admin_name(org, orgs, ".pem")).write_text(_pem_of(ca, record.cert_file).pem)
    timestamp = (start + timedelta(seconds=1)).isoformat()
    for ledger in ledgers:
        (target / f"genesis-{ledger}.json").write_text(json.dumps({
            "ledger": ledger, "suite": suite.name, "timestamp": timestamp,
            "roots": ["certs/root.pem"],
            "participants": [{"name": org, "ca": f"certs/{org}-ca.pem"} for org in orgs],
            "nodes": [{"certificate": f"certs/validators/{v.name}.pem"} for v in validators],
            "users": [{"certificate": f"certs/{_admin_name(org, orgs, '.pem')}", "roles": ["ADMIN"]} for org in orgs],
        }, indent=2) + "\n")
    geneses = {ledger: load_genesis_file(target / f"genesis-{ledger}.json") for ledger in ledgers}
    validator_keys = [v.key for v in validators]

    configs: list[Path] = []
    hashes: dict[str, set[bytes]] = {}
    for v in nodes:
        home = target / v.name
        shutil.copytree(certs, home / "certs")
        (home / "certs" / "node.pem").write_text(v.certificate.pem)
        tls_dir = home / "certs" / "tls"
        (tls_dir / "peers").mkdir(parents=True)
        (tls_dir / "root.pem").write_text(tls.root.pem)
        for org in orgs:
            (tls_dir / f"{org}-ca.pem").write_text(tls.intermediate(org).pem)
        (tls_dir / "node.pem").write_text(v.tls_certificate.pem)
        for peer in nodes:
            if peer is not v:
                (tls_dir / "peers" / f"{peer.name}.pem").write_text(peer.tls_certificate.pem)
        for ledger in ledgers:
            shutil.copyfile(target / f"genesis-{ledger}.json", home / f"genesis-{ledger}.json")
        save_key(home / "keys" / "node.key", v.key, password, label=v.name, scrypt_n=scrypt_n)
        save_key(home / "keys" / "tls.key", v.tls_key, password, label=f"{v.name} tls", scrypt_n=scrypt_n)
        for org in orgs:
            admin_file = target / nodes[0].name / "keys" / _admin_name(org, orgs, ".key")
            if v is nodes[0]:
                save_key(admin_file, admin_keys[org], password, label=f"admin@{org}", scrypt_n=scrypt_n)
            else:
                shutil.copy2(admin_file, home / "keys" / admin_file.name)
        write_atomic(home / PASSWORD_FILE, password + b"\n", 0o600)
        (home / "ledgers").mkdir()
        for ledger, genesis in geneses.items():
            kv = open_store(str(home / "ledgers" / ledger))
            try:
                hashes.setdefault(ledger, set()).add(ChainStore.create(kv, genesis, validator_keys).block_hash(0))
            finally:
                kv.close()
        config: dict[str, Any] = {
            "node_key": "keys/node.key",
            "listen": f"{HOST}:{v.client_port}",
            "ledgers": [{"name": ledger, "path": f"ledgers/{ledger}"} for ledger in ledgers],
            "password_file": PASSWORD_FILE,
        }
        if n > 1:
            config["consensus"] = _consensus_section(v, nodes, orgs)
        (home / "node.json").write_text(json.dumps(config, indent=2) + "\n")
        configs.append(home / "node.json")
    if any(len(h) != 1 for h in hashes.values()):  # the same genesis and keys give the same block: a bug if not
        raise NetSetupError(f"the nodes disagree on a genesis block: {hashes}", ResultCode.INTERNAL_ERROR)
    (target / NETWORK_FILE).write_text(json.dumps({
        "suite": suite.name,
        "consensus": "bft" if n > 1 else "solo",
        "ledgers": ledgers,
        "genesis_block_hash": {ledger: next(iter(h)).hex() for ledger, h in hashes.items()},
        "nodes": [{"name": v.name, "organisation": v.organisation, "address": v.address,
                   "client": f"{HOST}:{v.client_port}", "p2p": f"{HOST}:{v.p2p_port}" if n > 1 else None,
                   "config": f"{v.name}/node.json", "genesis_validator": v in validators} for v in nodes],
    }, indent=2) + "\n")
    log.info("created a %d-node %s network in %s (%d spare)", n, suite.name, target, spares)
    return configs


def _admin_name(org: str, orgs: Sequence[str], suffix: str) -> str:
    """admin.key for the first organisation's admin (what the demo and docs use), admin-<org>.key for the others."""
    return f"admin{suffix}" if org == orgs[0] else f"admin-{org}{suffix}"


def _consensus_section(me: _Validator, validators: list[_Validator], orgs: Sequence[str]) -> dict[str, Any]:
    """node.json "consensus" for a BFT validator: see chain.node.config.ConsensusConfig."""
    return {
        "type": "bft",
        "p2p_listen": f"{HOST}:{me.p2p_port}",
        "tls_certificate": "certs/tls/node.pem",
        "tls_key": "keys/tls.key",
        "tls_roots": ["certs/tls/root.pem"],
        "tls_intermediates": [f"certs/tls/{org}-ca.pem" for org in orgs],
        "peers": [{"id": p.address, "certificate": f"certs/tls/peers/{p.name}.pem", "host": HOST, "port": p.p2p_port}
                  for p in validators if p is not me],
        "round_timeout_ms": 1_000,
        "max_round_timeout_ms": 8_000,
        "idle_proposal_ms": 250,
        "batch_size": 500,
        "batch_timeout_ms": 50,
    }

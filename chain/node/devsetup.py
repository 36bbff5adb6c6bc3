"""`chain node init`: a ready-to-run single-validator node directory for development.

Writes the consortium certificates, the node and admin keys (encrypted), a
genesis file and a LevelDB ledger per requested name, and node.json.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from chain.crypto.keystore import save_key
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import build_devnet
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.genesis_file import load_genesis_file
from chain.storage import open_store


def init_node_dir(directory: Path, *, suite: str, ledgers: list[str], port: int, password: bytes,
                  scrypt_n: int = 2**15) -> Path:
    """Create the directory (which must not hold a node yet) and return the config path."""
    config_path = directory / "node.json"
    if config_path.exists():
        raise LedgerError(f"{directory} already holds a node (node.json exists)", ResultCode.ALREADY_EXISTS)
    if not ledgers or len(set(ledgers)) != len(ledgers):
        raise LedgerError("give one or more distinct ledger names", ResultCode.INVALID_ARGUMENT)
    net = build_devnet(suite, ledger_name=ledgers[0])
    certs = directory / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "root.pem").write_text(net.root.certificate.pem)
    for org, ca in net.orgs.items():
        (certs / f"{org}-ca.pem").write_text(ca.certificate.pem)
    node, admin = net.validators[0], net.admins[0]
    (certs / "node.pem").write_text(node.certificate.pem)
    (certs / "admin.pem").write_text(admin.certificate.pem)
    save_key(directory / "keys" / "node.key", node.key, password, label="node0", scrypt_n=scrypt_n)
    save_key(directory / "keys" / "admin.key", admin.key, password, label=admin.name, scrypt_n=scrypt_n)
    entries = []
    (directory / "ledgers").mkdir(parents=True, exist_ok=True)
    for name in ledgers:
        genesis_path = directory / f"genesis-{name}.json"
        genesis_path.write_text(json.dumps({
            "ledger": name, "suite": suite,
            "timestamp": datetime.fromtimestamp(net.genesis.timestamp_ms // 1000, timezone.utc).isoformat(),
            "roots": ["certs/root.pem"],
            "participants": [{"name": org, "ca": f"certs/{org}-ca.pem"} for org in net.orgs],
            "nodes": [{"certificate": "certs/node.pem"}],
            "users": [{"certificate": "certs/admin.pem", "roles": ["ADMIN"]}],
        }, indent=2) + "\n")
        genesis = load_genesis_file(genesis_path)
        kv = open_store(str(directory / "ledgers" / name))
        try:
            ChainStore.create(kv, genesis, [node.key])
        finally:
            kv.close()
        entries.append({"name": name, "path": f"ledgers/{name}"})
    config = {"node_key": "keys/node.key", "listen": f"127.0.0.1:{port}", "ledgers": entries}
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return config_path

"""Genesis configuration files (JSON) naming the consortium's certificates, for `chain ledger init`.

{
  "ledger": "main", "suite": "sm", "timestamp": "2026-11-24T08:00:00Z",
  "roots": ["certs/root.pem"],
  "participants": [{"name": "org1", "ca": "certs/org1-ca.pem"}],
  "nodes": [{"certificate": "certs/node0.pem"}],
  "users": [{"certificate": "certs/admin.pem", "roles": ["ADMIN"]}],
  "settings": {"block_interval_ms": 200, "validator_change_delay": 2}
}
Paths are relative to the file. Every error names the field it is about.
"settings" overrides LedgerSettings numbers, each a positive integer
(validator_change_delay: blocks between a membership change's approval and
the first block its new validator set certifies; at least 1).
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chain.ca import CAError, Certificate
from chain.crypto import get_suite
from chain.crypto.errors import CryptoError
from chain.json_file import read_json_object
from chain.ledger.errors import LedgerError, ResultCode
from chain.ledger.execution.certificates import to_ms
from chain.ledger.genesis import GenesisConfig, GenesisNode, GenesisUser
from chain.ledger.model import LedgerSettings
from chain.ledger.permissions import RolePolicy


class GenesisFileError(LedgerError):
    """A genesis file that is missing a field or names something invalid."""

    result = ResultCode.INVALID_ARGUMENT


def _cert(base: Path, value: Any, where: str) -> Certificate:
    if not isinstance(value, str):
        raise GenesisFileError(f"{where} must be a path to a PEM or DER certificate")
    path = base / value
    try:
        return Certificate.parse(path.read_bytes())
    except FileNotFoundError:
        raise GenesisFileError(f"{where}: no file at {path}") from None
    except CAError as exc:
        raise GenesisFileError(f"{where}: {exc}") from None


def _list(data: dict[str, Any], name: str, required: bool = True) -> list[Any]:
    value = data.get(name, None if required else [])
    if not isinstance(value, list) or (required and not value):
        raise GenesisFileError(f"'{name}' must be a non-empty list" if required else f"'{name}' must be a list")
    return value


def load_genesis_file(path: str | Path) -> GenesisConfig:
    """Parse and check a genesis file."""
    file = Path(path)
    data = read_json_object(file, GenesisFileError, "genesis file")
    base = file.resolve().parent
    name, suite_name = data.get("ledger"), data.get("suite")
    if not isinstance(name, str) or not name:
        raise GenesisFileError("'ledger' (the ledger name) is required")
    try:
        suite = get_suite(str(suite_name))
    except CryptoError as exc:
        raise GenesisFileError(f"'suite': {exc}") from None
    stamp = data.get("timestamp")
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if isinstance(stamp, str) else datetime.now(timezone.utc)
    except ValueError:
        raise GenesisFileError(f"'timestamp' must be ISO 8601, got {stamp!r}") from None
    if moment.tzinfo is None:
        raise GenesisFileError("'timestamp' needs a time zone, e.g. 2026-11-24T08:00:00Z")
    settings = LedgerSettings(name, suite.name)
    overrides = data.get("settings", {})
    if not isinstance(overrides, dict):
        raise GenesisFileError("'settings' must be an object")
    known = {f.name for f in fields(LedgerSettings)} - {"name", "suite"}
    for key, value in overrides.items():
        if key not in known:
            raise GenesisFileError(f"'settings.{key}' is not a setting; known: {', '.join(sorted(known))}")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise GenesisFileError(f"'settings.{key}' must be a positive integer")
    changes: dict[str, Any] = {k: (RolePolicy(v) if k == "default_role_policy" else v) for k, v in overrides.items()}
    settings = replace(settings, **changes)
    roots = tuple(_cert(base, v, f"roots[{i}]").der for i, v in enumerate(_list(data, "roots")))
    participants = []
    for i, item in enumerate(_list(data, "participants")):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise GenesisFileError(f"participants[{i}] needs 'name' and 'ca'")
        participants.append((item["name"], _cert(base, item.get("ca"), f"participants[{i}].ca").der))
    nodes = []
    for i, item in enumerate(_list(data, "nodes")):
        cert = _cert(base, item.get("certificate") if isinstance(item, dict) else None, f"nodes[{i}].certificate")
        nodes.append(GenesisNode(cert.der, cert.public_key.encode()))
    users = []
    for i, item in enumerate(_list(data, "users")):
        if not isinstance(item, dict):
            raise GenesisFileError(f"users[{i}] must be an object")
        cert = _cert(base, item.get("certificate"), f"users[{i}].certificate")
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise GenesisFileError(f"users[{i}].roles must be a list of role names")
        users.append(GenesisUser(cert.der, tuple(roles)))
    return GenesisConfig(settings, to_ms(moment), roots, tuple(participants), tuple(nodes), tuple(users))

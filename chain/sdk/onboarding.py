"""Admitting a member organisation and its application identities: the consortium CA issues, the ledger registers.

An operator holding the consortium CA store (`chain ca init`, or the one `chain
net init` writes to DIR/ca) admits an organisation in three steps, each skipped
when already done so the whole is safe to repeat after a crash:
  1. the CA issues the organisation's intermediate certificate;
  2. a transaction registers the organisation (RegisterParticipant) with it;
  3. the CA issues a user certificate for a new key, a transaction registers the
     user with its roles (RegisterUser), and the key is saved encrypted.
Devices (IoT sensors, scanners) are identities of an organisation too: the CA
issues a certificate with role `device` for the device's own public key (the
private key never leaves the device) and a transaction registers it;
`set_identity_state` freezes, unfreezes or revokes it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from chain.ca import CAStore, parse_certificates
from chain.crypto.keys import PrivateKey
from chain.crypto.keystore import load_key, save_key
from chain.crypto import Address
from chain.crypto.keys import PublicKey
from chain.ledger.model import EntityState
from chain.ledger.operations import (
    AddRootCertificate,
    ConfigureRole,
    Operation,
    RegisterParticipant,
    RegisterUser,
    SetUserState,
)
from chain.ledger.permissions import RolePolicy, TxPermission
from chain.sdk.client import Client
from chain.sdk.errors import ApiError, SdkError

log = logging.getLogger(__name__)

#: A ledger role that may invoke contracts and nothing else: what application identities get.
MEMBER_ROLE = "MEMBER"


class OnboardingError(SdkError):
    """A step of admitting an organisation failed; the message says which."""


def ensure_member_role(admin: Client) -> None:
    """Create the MEMBER role (contract invocations only) unless the ledger has it."""
    _commit(admin, [ConfigureRole(MEMBER_ROLE, 0, int(TxPermission.CONTRACT_OPERATION))], "configure the MEMBER role")


def trust_root(admin: Client, ca_dir: Path) -> bool:
    """Make the ledger trust the root CA of a CA store (for a consortium with several roots); True if added now."""
    outcome = admin.send([AddRootCertificate(CAStore.open(ca_dir).root.der)])
    receipt = outcome.get("receipt") or {}
    if receipt.get("code_name") == "SUCCESS":
        return True
    if receipt.get("code_name") == "ALREADY_EXISTS" or "already" in str(receipt.get("message", "")):
        return False
    raise OnboardingError(f"could not add the root certificate: {receipt.get('message') or outcome}")


def onboard(admin: Client, ca_dir: Path, ca_password: bytes, organisation: str, key_file: Path, key_password: bytes,
            user: str = "app", roles: Sequence[str] = (MEMBER_ROLE,)) -> PrivateKey:
    """Admit `organisation` and one user of it (its key saved at key_file); returns that user's key."""
    store = CAStore.open(ca_dir)
    known = {r.organisation for r in store.records()}
    if organisation not in known:
        store.add_organisation(organisation, root_password=ca_password)
    if not _participant_exists(admin, organisation):
        _commit(admin, [RegisterParticipant(organisation, store.intermediate(organisation).der)],
                f"register organisation {organisation}")
    if key_file.exists():
        return load_key(key_file, key_password)
    key = admin.suite.generate_keypair().private
    record = store.issue(organisation, "user", user, ca_password=ca_password, public_key=key.public_key())
    certificate = (ca_dir / record.cert_file).read_bytes()
    der = parse_certificates(certificate)[0].der
    _commit(admin, [RegisterUser(der, tuple(roles), RolePolicy.UNION)], f"register user {user}@{organisation}")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    save_key(key_file, key, key_password, label=f"{user}@{organisation}", scrypt_n=2**12)
    log.info("onboarded %s with user %s", organisation, user)
    return key


def register_device(admin: Client, ca_dir: Path, ca_password: bytes, organisation: str, label: str,
                    public_key: PublicKey, roles: Sequence[str] = (MEMBER_ROLE,)) -> str:
    """Issue a `device` certificate of `organisation` for the device's public key and register it; its address."""
    store = CAStore.open(ca_dir)
    record = store.issue(organisation, "device", label, ca_password=ca_password, public_key=public_key)
    der = parse_certificates((ca_dir / record.cert_file).read_bytes())[0].der
    _commit(admin, [RegisterUser(der, tuple(roles), RolePolicy.UNION)], f"register device {label}@{organisation}")
    return str(admin.suite.address_of(public_key))


def set_identity_state(admin: Client, address: str, state: str) -> None:
    """Set a registered user's or device's state: NORMAL, FROZEN (suspended) or REVOKED."""
    try:
        wanted = EntityState[state.upper()]
    except KeyError:
        raise OnboardingError(f"state must be one of {', '.join(s.name for s in EntityState)}, not {state!r}") from None
    _commit(admin, [SetUserState(Address.parse(address).encode(), wanted)], f"set {address} to {wanted.name}")


def _participant_exists(admin: Client, name: str) -> bool:
    try:
        admin.participant(name)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _commit(admin: Client, ops: list[Operation], what: str) -> None:
    outcome = admin.send(ops)
    receipt = outcome.get("receipt") or {}
    if outcome.get("status") != "committed" or receipt.get("code_name") != "SUCCESS":
        raise OnboardingError(f"could not {what}: {receipt.get('message') or outcome}")

"""State keys: one authenticated map, split by a one-byte namespace."""
from __future__ import annotations

import enum


class Namespace(enum.IntEnum):
    """Namespace byte that starts every state key."""

    SETTINGS = 0x01
    PARTICIPANT = 0x02
    NODE = 0x03
    USER = 0x04
    ROLE = 0x05
    DATA_ACCOUNT = 0x06
    DATA_ENTRY = 0x07
    CONTRACT = 0x08
    EVENT_ACCOUNT = 0x09
    EVENT = 0x0A
    ROOT_CERTIFICATE = 0x0B
    REVOKED_CERTIFICATE = 0x0C
    EVENT_TOPIC = 0x0D
    CONTRACT_CODE = 0x0E
    VALIDATORS = 0x0F
    MEMBERSHIP = 0x10
    CONTRACT_DATA = 0x11
    CONTRACT_APPROVAL = 0x12


# One-byte key prefixes, built once: key functions are called for every state access.
_CONTRACT = bytes([Namespace.CONTRACT])
_CONTRACT_CODE = bytes([Namespace.CONTRACT_CODE])
_CONTRACT_DATA = bytes([Namespace.CONTRACT_DATA])
_CONTRACT_APPROVAL = bytes([Namespace.CONTRACT_APPROVAL])
_DATA_ACCOUNT = bytes([Namespace.DATA_ACCOUNT])
_DATA_ENTRY = bytes([Namespace.DATA_ENTRY])
_EVENT = bytes([Namespace.EVENT])
_EVENT_ACCOUNT = bytes([Namespace.EVENT_ACCOUNT])
_EVENT_TOPIC = bytes([Namespace.EVENT_TOPIC])
_MEMBERSHIP = bytes([Namespace.MEMBERSHIP])
_NODE = bytes([Namespace.NODE])
_PARTICIPANT = bytes([Namespace.PARTICIPANT])
_REVOKED_CERTIFICATE = bytes([Namespace.REVOKED_CERTIFICATE])
_ROLE = bytes([Namespace.ROLE])
_ROOT_CERTIFICATE = bytes([Namespace.ROOT_CERTIFICATE])
_SETTINGS = bytes([Namespace.SETTINGS])
_USER = bytes([Namespace.USER])
_VALIDATORS = bytes([Namespace.VALIDATORS])


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


_NAMES: dict[str, bytes] = {}
_NAMES_LIMIT = 4096
_NAME_CHARS = 128  # longer strings are not valid names: encoded, never memoised


def _name(value: str) -> bytes:
    """_text of a name (account, role, participant, contract), memoised: the same few names recur in every transaction."""
    raw = _NAMES.get(value)
    if raw is None:
        raw = _text(value)
        if len(value) <= _NAME_CHARS:
            if len(_NAMES) >= _NAMES_LIMIT:
                _NAMES.clear()
            _NAMES[value] = raw
    return raw


def settings_key() -> bytes:
    """The ledger settings record."""
    return _SETTINGS


def participant_key(name: str) -> bytes:
    """A member organisation."""
    return _PARTICIPANT + _name(name)


def node_key(address: bytes) -> bytes:
    """A consensus node, by address bytes."""
    return _NODE + address


def user_key(address: bytes) -> bytes:
    """A user identity, by address bytes."""
    return _USER + address


def role_key(name: str) -> bytes:
    """A role."""
    return _ROLE + _name(name)


def data_account_key(name: str) -> bytes:
    """A data account header."""
    return _DATA_ACCOUNT + _name(name)


def data_entry_key(account: str, key: str) -> bytes:
    """One key of a data account."""
    return _DATA_ENTRY + _name(account) + _text(key)


def parse_data_entry_key(state_key: bytes) -> tuple[str, str]:
    """(account, key) of a data entry's state key; ValueError if it is not one."""
    if state_key[:1] != _DATA_ENTRY:
        raise ValueError("not a data entry key")
    parts, rest = [], state_key[1:]
    for _ in range(2):
        if len(rest) < 2:
            raise ValueError("truncated data entry key")
        size = int.from_bytes(rest[:2], "big")
        parts.append(rest[2:2 + size].decode("utf-8"))
        rest = rest[2 + size:]
    if rest:
        raise ValueError("trailing bytes after a data entry key")
    return parts[0], parts[1]


def contract_key(name: str) -> bytes:
    """A contract account."""
    return _CONTRACT + _name(name)


def event_account_key(name: str) -> bytes:
    """An event account header (topics and their sequence numbers)."""
    return _EVENT_ACCOUNT + _name(name)


def event_key(account: str, topic: str, sequence: int) -> bytes:
    """One published event."""
    return _EVENT + _text(account) + _text(topic) + sequence.to_bytes(8, "big")


def trusted_roots_key() -> bytes:
    """The list of trusted root CA certificates."""
    return _ROOT_CERTIFICATE


def revoked_certificate_key(issuer_fingerprint: bytes, serial: bytes) -> bytes:
    """A revoked certificate, by issuer fingerprint and 20-byte serial."""
    return _REVOKED_CERTIFICATE + issuer_fingerprint + serial


def revoked_certificates_prefix(issuer_fingerprint: bytes) -> bytes:
    """The common prefix of the revoked certificates of one issuer."""
    return _REVOKED_CERTIFICATE + issuer_fingerprint


def event_topic_key(account: str, topic: str) -> bytes:
    """The head (next sequence number) of one topic of an event account."""
    return _EVENT_TOPIC + _text(account) + _text(topic)


def contract_code_key(name: str, version: int) -> bytes:
    """The IR of one version of a contract."""
    return _CONTRACT_CODE + _text(name) + version.to_bytes(4, "big")


def contract_data_key(name: str, key: bytes) -> bytes:
    """One stored value of a contract (key: the map prefix, NUL and the CBOR of the map key)."""
    return _CONTRACT_DATA + _text(name) + key


def contract_approval_key(name: str, version: int, code_hash: bytes) -> bytes:
    """Approvals of one version of a contract, by its IR hash."""
    return _CONTRACT_APPROVAL + _text(name) + version.to_bytes(4, "big") + code_hash


def validators_key() -> bytes:
    """The active validator set."""
    return _VALIDATORS


def membership_key() -> bytes:
    """Validator membership: the current set's first height and the pending and scheduled changes."""
    return _MEMBERSHIP

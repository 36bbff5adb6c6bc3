"""Typed access to state records and the permission checks built on them."""
from __future__ import annotations

import re
from typing import TypeVar

from chain.codec.schema import from_cbor, to_cbor
from chain.ledger import namespaces as ns
from chain.ledger.errors import ExecutionFailure, Rejection, ResultCode
from chain.ledger.execution.context import TxContext
from chain.ledger.execution.overlay import Overlay
from chain.ledger.model import LedgerSettings, Role, UserRecord
from chain.ledger.permissions import LedgerPermission, RolePolicy, TxPermission, combine

T = TypeVar("T")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")


_DECODED: dict[tuple[type, bytes], object] = {}
_DECODED_LIMIT = 50_000


def decode_record(cls: type[T], raw: bytes) -> T:
    """Decode a record, memoised by its exact bytes (records are immutable, so equal bytes mean equal records)."""
    key = (cls, raw)
    hit = _DECODED.get(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    record = from_cbor(cls, raw)
    if len(_DECODED) >= _DECODED_LIMIT:
        _DECODED.clear()
    _DECODED[key] = record
    return record


def load(state: Overlay, key: bytes, cls: type[T]) -> T | None:
    """The record at key, or None."""
    raw = state.get(key)
    return None if raw is None else decode_record(cls, raw)


def store(state: Overlay, key: bytes, record: object) -> None:
    """Write a record."""
    state.put(key, to_cbor(record))


def require(state: Overlay, key: bytes, cls: type[T], what: str) -> T:
    """The record at key, or an execution failure naming what is missing."""
    record = load(state, key, cls)
    if record is None:
        raise ExecutionFailure(f"{what} does not exist", ResultCode.NOT_FOUND)
    return record


def check_name(name: str, what: str) -> None:
    """Refuse names outside [A-Za-z0-9._:/@-], 1..128 characters, starting alphanumeric."""
    if not NAME_PATTERN.match(name):
        raise ExecutionFailure(
            f"{what} {name!r} is invalid: use 1-128 of A-Z a-z 0-9 . _ : / @ -, starting with a letter or digit",
            ResultCode.INVALID_ARGUMENT,
        )


def settings(state: Overlay) -> LedgerSettings:
    """The ledger settings."""
    record = load(state, ns.settings_key(), LedgerSettings)
    if record is None:
        raise ExecutionFailure("ledger settings are missing", ResultCode.INVALID_STATE)
    return record


_MASKS: dict[tuple[RolePolicy, tuple[bytes | None, ...]], tuple[int, int]] = {}
_MASKS_LIMIT = 10_000
_ROLE_KEYS: dict[tuple[str, ...], tuple[bytes, ...]] = {}
_ROLE_KEYS_LIMIT = 10_000


def permissions_of(state: Overlay, user: UserRecord) -> tuple[int, int]:
    """(ledger mask, tx mask) of a user, combining its roles by its policy.

    The masks are a pure function of the policy and the roles' current bytes, so they are
    memoised by exactly those: a role rewritten (even by an earlier operation of the same
    transaction, or in an overlay later rolled back) has other bytes and is never served stale.
    """
    raws = tuple(map(state.get, _role_keys(user.roles)))
    key = (user.policy, raws)
    masks = _MASKS.get(key)
    if masks is None:
        masks = _combine_roles(raws, user.policy)
        if len(_MASKS) >= _MASKS_LIMIT:
            _MASKS.clear()
        _MASKS[key] = masks
    return masks


def _role_keys(roles: tuple[str, ...]) -> tuple[bytes, ...]:
    """The state keys of a user's roles, memoised (users share a few role lists)."""
    keys = _ROLE_KEYS.get(roles)
    if keys is None:
        keys = tuple(ns.role_key(name) for name in roles)
        if len(_ROLE_KEYS) >= _ROLE_KEYS_LIMIT:
            _ROLE_KEYS.clear()
        _ROLE_KEYS[roles] = keys
    return keys


def _combine_roles(raws: tuple[bytes | None, ...], policy: RolePolicy) -> tuple[int, int]:
    """(ledger mask, tx mask) of the roles stored as raws (None: the role does not exist), combined by policy."""
    present = [decode_record(Role, raw) for raw in raws if raw is not None]
    return (
        combine([r.ledger_permissions for r in present], policy),
        combine([r.tx_permissions for r in present], policy),
    )


def has_ledger_permission(state: Overlay, ctx: TxContext, permission: LedgerPermission) -> bool:
    """True if any endorser holds the permission (always, for privileged genesis execution)."""
    if ctx.privileged:
        return True
    mask = int(permission)
    for signer in ctx.signers:
        if permissions_of(state, signer)[0] & mask:
            return True
    return False


def endorsing_participants(state: Overlay, ctx: TxContext, permission: LedgerPermission) -> tuple[str, ...]:
    """The participants (organisations) of the endorsers holding a permission, each once, sorted."""
    mask = int(permission)
    return tuple(sorted({s.participant for s in ctx.signers if permissions_of(state, s)[0] & mask}))


def demand(state: Overlay, ctx: TxContext, permission: LedgerPermission, action: str) -> None:
    """Reject the transaction unless an endorser holds the permission."""
    if not has_ledger_permission(state, ctx, permission):
        raise Rejection(f"{action} needs the {permission.name} permission, which no endorser holds", ResultCode.PERMISSION_DENIED)


def demand_tx_permission(state: Overlay, ctx: TxContext, permission: TxPermission) -> None:
    """Reject the transaction unless an endorser may submit this kind of transaction."""
    if ctx.privileged:
        return
    mask = int(permission)
    for signer in ctx.signers:
        if permissions_of(state, signer)[1] & mask:
            return
    raise Rejection(f"no endorser holds the {permission.name} transaction permission", ResultCode.PERMISSION_DENIED)


def is_owner(owners: tuple[bytes, ...], ctx: TxContext) -> bool:
    """True if an endorser is among the owners."""
    if ctx.privileged:
        return True
    for address in ctx.signer_addresses:
        if address in owners:
            return True
    return False

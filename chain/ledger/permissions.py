"""Ledger and transaction permissions, and how a user's roles combine."""
from __future__ import annotations

import enum


class LedgerPermission(enum.IntFlag):
    """What an identity may do to the ledger's structure and to others' accounts."""

    CONFIGURE_ROLES = 1 << 0
    AUTHORIZE_USER_ROLES = 1 << 1
    MANAGE_PARTICIPANTS = 1 << 2
    REGISTER_USER = 1 << 3
    MANAGE_USERS = 1 << 4
    REGISTER_DATA_ACCOUNT = 1 << 5
    WRITE_ANY_DATA_ACCOUNT = 1 << 6
    READ_ANY_DATA_ACCOUNT = 1 << 7
    REGISTER_EVENT_ACCOUNT = 1 << 8
    PUBLISH_ANY_EVENT = 1 << 9
    DEPLOY_CONTRACT = 1 << 10
    UPGRADE_CONTRACT = 1 << 11
    UPDATE_LEDGER_SETTINGS = 1 << 12
    MANAGE_CERTIFICATES = 1 << 13
    MANAGE_NODES = 1 << 14


ALL_LEDGER_PERMISSIONS = LedgerPermission(sum(p.value for p in LedgerPermission))


class TxPermission(enum.IntFlag):
    """Which kinds of transaction an identity may submit."""

    DIRECT_OPERATION = 1 << 0
    CONTRACT_OPERATION = 1 << 1


ALL_TX_PERMISSIONS = TxPermission.DIRECT_OPERATION | TxPermission.CONTRACT_OPERATION


class RolePolicy(enum.IntEnum):
    """How several roles of one user combine: any role suffices, or every role must allow."""

    UNION = 0
    INTERSECT = 1


def combine(masks: list[int], policy: RolePolicy) -> int:
    """The effective permission mask of a user's roles under a policy (no roles: nothing)."""
    if not masks:
        return 0
    result = masks[0]
    for mask in masks[1:]:
        result = result | mask if policy is RolePolicy.UNION else result & mask
    return result

"""Every ledger permission, exercised by an identity that holds it and one that does not."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import pytest

from chain.contracts import encode_args
from chain.ledger.access import can_read_data_account
from chain.ledger.errors import ResultCode
from chain.ledger.model import EntityState
from chain.ledger.operations import (
    AuthorizeRoles, ConfigureRole, DeployContract, InvokeContract, Operation, PublishEvent, RegisterDataAccount,
    RegisterEventAccount, RegisterUser, RevokeCertificate, SetNodeState, SetParticipantState, SetUserState,
    UpdateLedgerSettings, UpgradeContract, WriteKV,
)
from chain.ledger.permissions import ALL_LEDGER_PERMISSIONS, LedgerPermission as P, RolePolicy, TxPermission
from tests.chain.ledger.contract_code import COUNTER, COUNTER_V2, ORG1_ONLY

Setup = Callable[..., Operation]


def _cases() -> dict[P, Callable]:  # type: ignore[type-arg]
    """permission -> function(harness, actor) that prepares state and returns the operation to try."""
    return {
        P.CONFIGURE_ROLES: lambda h, a: ConfigureRole("EXTRA", 0, 1),
        P.AUTHORIZE_USER_ROLES: lambda h, a: AuthorizeRoles(h.target.address, ("READER",), (), RolePolicy.UNION),
        P.MANAGE_PARTICIPANTS: lambda h, a: SetParticipantState("org2", EntityState.NORMAL),
        P.REGISTER_USER: lambda h, a: RegisterUser(h.net.issue("org1", f"new-{a.name}").certificate.der, (), RolePolicy.UNION),
        P.MANAGE_USERS: lambda h, a: SetUserState(h.target.address, EntityState.FROZEN),
        P.REGISTER_DATA_ACCOUNT: lambda h, a: RegisterDataAccount(f"acct-{a.name}", ()),
        P.WRITE_ANY_DATA_ACCOUNT: lambda h, a: WriteKV("admin-acct", "k", b"v", None),
        P.REGISTER_EVENT_ACCOUNT: lambda h, a: RegisterEventAccount(f"ev-{a.name}"),
        P.PUBLISH_ANY_EVENT: lambda h, a: PublishEvent("admin-events", "t", b"x", None),
        P.DEPLOY_CONTRACT: lambda h, a: DeployContract(f"c-{a.name}", COUNTER, ORG1_ONLY),
        P.UPGRADE_CONTRACT: lambda h, a: UpgradeContract(f"own-{a.name}", COUNTER_V2),
        P.UPDATE_LEDGER_SETTINGS: lambda h, a: UpdateLedgerSettings(replace(h.chain.settings(), block_interval_ms=300)),
        P.MANAGE_CERTIFICATES: lambda h, a: RevokeCertificate(bytes(32), bytes(20), "superseded"),
        P.MANAGE_NODES: lambda h, a: SetNodeState(h.net.validators[0].address, EntityState.NORMAL),
    }


OPERATION_PERMISSIONS = [p for p in P if p is not P.READ_ANY_DATA_ACCOUNT]


def test_every_permission_but_read_has_an_operation_case() -> None:
    assert set(_cases()) == set(OPERATION_PERMISSIONS)


@pytest.mark.parametrize("permission", OPERATION_PERMISSIONS, ids=lambda p: p.name)
def test_permission_allows_its_holder_and_refuses_others(classic_ledger, permission: P) -> None:  # type: ignore[no-untyped-def]
    h = classic_ledger
    extra = P.DEPLOY_CONTRACT if permission is P.UPGRADE_CONTRACT else P(0)
    h.run([
        ConfigureRole("ONLY", int(permission | extra), int(TxPermission.DIRECT_OPERATION)),
        ConfigureRole("ALL_BUT", int(ALL_LEDGER_PERMISSIONS & ~permission), int(TxPermission.DIRECT_OPERATION)),
        RegisterDataAccount("admin-acct", ()),
        RegisterEventAccount("admin-events"),
    ])
    allowed = h.register("allowed", ("ONLY",))
    refused = h.register("refused", ("ALL_BUT",))
    h.target = h.register("target", ("MEMBER",))
    if permission is P.UPGRADE_CONTRACT:
        for actor in (allowed, refused):
            assert h.run([DeployContract(f"own-{actor.name}", COUNTER, ORG1_ONLY)], actor)[0].success
    case = _cases()[permission]
    receipt, rejection = h.run([case(h, allowed)], allowed)
    assert rejection is None and receipt.success, (receipt, rejection)
    receipt, rejection = h.run([case(h, refused)], refused)
    assert receipt is None and rejection.result == ResultCode.PERMISSION_DENIED, (receipt, rejection)


def test_read_restriction_allows_owners_reader_roles_and_read_any(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    h = classic_ledger
    h.run([ConfigureRole("AUDITOR", 0, 1), ConfigureRole("READ_ALL", int(P.READ_ANY_DATA_ACCOUNT), 1),
           RegisterDataAccount("private", ("AUDITOR",)), RegisterDataAccount("public", ())])
    auditor = h.register("auditor", ("AUDITOR",))
    reader = h.register("reader", ("READ_ALL",))
    nobody = h.register("nobody", ("MEMBER",))
    state = h.chain.state
    assert can_read_data_account(state, "private", h.admin.address)  # owner
    assert can_read_data_account(state, "private", auditor.address)  # reader role
    assert can_read_data_account(state, "private", reader.address)  # READ_ANY
    assert not can_read_data_account(state, "private", nobody.address)
    assert not can_read_data_account(state, "private", None)
    assert can_read_data_account(state, "public", None)
    assert not can_read_data_account(state, "missing", h.admin.address)


@pytest.mark.parametrize("kind", ["direct", "contract"])
def test_transaction_permissions_gate_direct_and_contract_operations(classic_ledger, kind: str) -> None:  # type: ignore[no-untyped-def]
    h = classic_ledger
    h.run([ConfigureRole("DIRECT", int(P.REGISTER_DATA_ACCOUNT), int(TxPermission.DIRECT_OPERATION)),
           ConfigureRole("CONTRACT", int(P.REGISTER_DATA_ACCOUNT), int(TxPermission.CONTRACT_OPERATION)),
           DeployContract("c", COUNTER, ORG1_ONLY)])
    direct = h.register("direct", ("DIRECT",))
    contract = h.register("contract", ("CONTRACT",))
    if kind == "direct":
        op = RegisterDataAccount("d", ())
        assert h.run([op], direct)[0].success
        assert h.run([op], contract)[1].result == ResultCode.PERMISSION_DENIED
    else:
        op = InvokeContract("c", "get", encode_args(["nobody"]))
        assert h.run([op], contract)[0].success
        assert h.run([op], direct)[1].result == ResultCode.PERMISSION_DENIED


def test_intersect_policy_needs_every_role_to_allow(classic_ledger) -> None:  # type: ignore[no-untyped-def]
    h = classic_ledger
    h.run([ConfigureRole("A", int(P.REGISTER_DATA_ACCOUNT | P.REGISTER_EVENT_ACCOUNT), 1),
           ConfigureRole("B", int(P.REGISTER_EVENT_ACCOUNT), 1)])
    both = h.register("both", ("A", "B"))
    assert h.run([RegisterDataAccount("u", ())], both)[0].success  # union: A allows
    h.run([AuthorizeRoles(both.address, (), (), RolePolicy.INTERSECT)])
    assert h.run([RegisterDataAccount("i", ())], both)[1].result == ResultCode.PERMISSION_DENIED
    assert h.run([RegisterEventAccount("e", )], both)[0].success

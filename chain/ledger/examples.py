"""One example of every operation, with its wire form: the source of docs/operations.md.

python -m chain.ledger.examples > docs/operations-examples.md
"""
from __future__ import annotations

from chain.codec import encode
from chain.ledger.model import ContractPolicy, EntityState, LedgerSettings
from chain.ledger.operations import (
    AddRootCertificate, ApproveContract, ApproveNodeChange, AuthorizeRoles, ConfigureRole, DeployContract, InvokeContract, Operation,
    PublishEvent, RegisterDataAccount, RegisterEventAccount, RegisterNode, RegisterParticipant, RegisterUser, RevokeCertificate,
    SetContractState, SetNodeState, SetParticipantState, SetUserState, UpdateLedgerSettings, UpgradeContract, WriteKV, operation_to_value,
)
from chain.ledger.permissions import LedgerPermission, RolePolicy, TxPermission

CERT = bytes.fromhex("3082")  # stands for a DER certificate (truncated in examples)
ADDRESS = bytes.fromhex("011001") + bytes(range(20))

EXAMPLES: list[Operation] = [
    RegisterParticipant("org1", CERT),
    SetParticipantState("org1", EntityState.FROZEN),
    RegisterUser(CERT, ("MEMBER",), RolePolicy.UNION),
    SetUserState(ADDRESS, EntityState.REVOKED),
    RegisterDataAccount("orders", ("AUDITOR",)),
    WriteKV("orders", "po-1", b"shipped", -1),
    ConfigureRole("AUDITOR", int(LedgerPermission.READ_ANY_DATA_ACCOUNT), int(TxPermission.DIRECT_OPERATION)),
    AuthorizeRoles(ADDRESS, ("AUDITOR",), ("MEMBER",), RolePolicy.INTERSECT),
    RegisterEventAccount("alerts"),
    PublishEvent("alerts", "temperature", b"\x01", None),
    DeployContract("trace", b"ir", ContractPolicy(2, ("org1", "org2", "org3"))),
    UpgradeContract("trace", b"ir2"),
    InvokeContract("trace", "ship", encode(["sku-1"])),
    UpdateLedgerSettings(LedgerSettings("main", "sm")),
    AddRootCertificate(CERT),
    RevokeCertificate(bytes(32), bytes(19) + b"\x2a", "keyCompromise"),
    RegisterNode(CERT, bytes.fromhex("2002") + b"\x02" + bytes(32)),
    SetNodeState(ADDRESS, EntityState.NORMAL),
    ApproveNodeChange(ADDRESS),
    ApproveContract("trace", 1, bytes(32)),
    SetContractState("trace", EntityState.FROZEN),
]


def example_rows() -> list[tuple[int, str, str]]:
    """(type code, operation name, hex of [type_code, params])."""
    return [(int(op.TYPE), type(op).__name__, encode(operation_to_value(op)).hex()) for op in EXAMPLES]


def main() -> None:
    """Print the examples as a Markdown table."""
    print("| code | operation | example `[type_code, params]` in canonical CBOR (hex) |")
    print("|---:|---|---|")
    for code, name, hexed in example_rows():
        print(f"| {code} | `{name}` | `{hexed}` |")


if __name__ == "__main__":
    main()

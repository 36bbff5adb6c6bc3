"""The standard ledger operation set, as applications build transactions with it (re-exported from chain.ledger)."""
from __future__ import annotations

from chain.ledger.model import ContractPolicy, EntityState
from chain.ledger.operations import (
    ApproveContract,
    AuthorizeRoles,
    ConfigureRole,
    DeployContract,
    InvokeContract,
    Operation,
    PublishEvent,
    RegisterDataAccount,
    RegisterEventAccount,
    RegisterParticipant,
    RegisterUser,
    RevokeCertificate,
    SetUserState,
    UpgradeContract,
    WriteKV,
)
from chain.ledger.permissions import RolePolicy

__all__ = [
    "ApproveContract", "AuthorizeRoles", "ConfigureRole", "ContractPolicy", "DeployContract", "EntityState",
    "InvokeContract", "Operation", "PublishEvent", "RegisterDataAccount", "RegisterEventAccount", "RegisterParticipant",
    "RegisterUser", "RevokeCertificate", "RolePolicy", "SetUserState", "UpgradeContract", "WriteKV",
]

"""The standard ledger operation set, as applications build transactions with it (re-exported from chain.ledger)."""
from __future__ import annotations

from chain.ledger.model import ContractPolicy
from chain.ledger.operations import (
    ApproveContract,
    ConfigureRole,
    DeployContract,
    InvokeContract,
    Operation,
    PublishEvent,
    RegisterDataAccount,
    RegisterEventAccount,
    RegisterParticipant,
    RegisterUser,
    UpgradeContract,
    WriteKV,
)

__all__ = [
    "ApproveContract", "ConfigureRole", "ContractPolicy", "DeployContract", "InvokeContract", "Operation", "PublishEvent",
    "RegisterDataAccount", "RegisterEventAccount", "RegisterParticipant", "RegisterUser", "UpgradeContract", "WriteKV",
]

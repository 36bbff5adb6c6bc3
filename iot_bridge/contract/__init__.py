"""The device log contract's source (restricted contract dialect; see docs/contracts.md and docs/iot.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from chain.sdk import ApiError, Client, PrivateKey, compile_contract
from chain.sdk.operations import ContractPolicy, DeployContract

#: The name the contract is deployed under.
CONTRACT_NAME = "device_log"
SOURCE_PATH = Path(__file__).with_name("device_log.py")


def contract_source() -> str:
    """The contract's source text."""
    return SOURCE_PATH.read_text(encoding="utf-8")


def deploy(admin: Client, signers: Sequence[PrivateKey] | None = None, policy: ContractPolicy | None = None,
           name: str = CONTRACT_NAME) -> bool:
    """Deploy the device log contract under `name` unless it is there (endorsed by `signers`, default the admin's
    key); True if deployed now. Raises ApiError/ValueError if the chain refuses."""
    try:
        admin.contract(name)
        return False
    except ApiError as exc:
        if exc.status != 404:
            raise
    code = compile_contract(contract_source(), SOURCE_PATH.name).encode()
    tx = admin.build([DeployContract(name, code, policy)], signers=signers)
    result = admin.submit([tx], wait_ms=30_000)[0]
    outcome = result.get("outcome", result)
    if outcome.get("status") == "pending":
        outcome = admin.wait(tx.hash, 30_000)
    receipt = outcome.get("receipt") or {}
    if outcome.get("status") != "committed" or receipt.get("code_name") != "SUCCESS":
        raise ValueError(f"the chain refused to deploy {name}: {receipt.get('message') or outcome}")
    return True

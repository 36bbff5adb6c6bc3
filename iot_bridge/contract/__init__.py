"""The device log contract's source (restricted contract dialect; see docs/contracts.md and docs/iot.md)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

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


#: The event a `log` call emits: LoggedRun(device, first_seq, count, digests, org).
RUN_EVENT = "LoggedRun"


def _bytes(value: Any) -> bytes:
    if isinstance(value, dict) and set(value) == {"hex"}:
        return bytes.fromhex(value["hex"])
    if isinstance(value, str):
        return bytes.fromhex(value)
    return bytes(value)


def logged_runs(client: Client, from_height: int = 1, devices: Collection[str] | None = None,
                name: str = CONTRACT_NAME) -> Iterator[tuple[str, int, list[bytes]]]:
    """(device, first_seq, digests) of every LoggedRun event from `from_height` to the head, in chain order
    (only these devices' if given)."""
    for _, item in client.events(from_height, types=("event",), account=f"contract:{name}"):
        fields = item.get("fields") or {}
        if item.get("topic") != RUN_EVENT or (devices is not None and fields.get("device") not in devices):
            continue
        yield fields["device"], int(fields["first_seq"]), [_bytes(d) for d in fields["digests"]]


def logged_digests(client: Client, from_height: int = 1, devices: Collection[str] | None = None,
                   name: str = CONTRACT_NAME) -> dict[tuple[str, int], list[bytes]]:
    """(device, seq) -> the digests logged for it, from the LoggedRun events (exactly once: a list of one)."""
    out: dict[tuple[str, int], list[bytes]] = {}
    for device, first, digests in logged_runs(client, from_height, devices, name):
        for i, digest in enumerate(digests):
            out.setdefault((device, first + i), []).append(digest)
    return out


def run_hash(digests: Sequence[bytes]) -> bytes:
    """The hash a run record holds: SHA-256 over the concatenated digests."""
    return hashlib.sha256(b"".join(digests)).digest()


def check_run(client: Client, device: str, first_seq: int, digests: Sequence[bytes], name: str = CONTRACT_NAME) -> bool:
    """Whether the run record runs[(device, first_seq)] (read with a state proof) matches these digests."""
    stored = client.contract_value(name, "runs", (device, first_seq))
    return bool(stored) and stored["count"] == len(digests) and _bytes(stored["hash"]) == run_hash(digests)

"""Contract storage keys, computed alike by the gateway and by SDK clients (which never take the gateway's word)."""
from __future__ import annotations

from typing import Any

from chain.contracts import DEFAULT_LIMITS, LimitExceeded
from chain.contracts.values import MAX_DEPTH
from chain.contracts.vm.meter import Meter
from chain.contracts.vm.program import map_key
from chain.ledger import namespaces as ns


def as_map_key(value: Any, depth: int = 0) -> Any:
    """A key as the VM holds it: JSON arrays (and lists) become tuples, recursively."""
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise LimitExceeded(f"a map key nests deeper than {MAX_DEPTH} levels", None, "memory")
        return tuple(as_map_key(item, depth + 1) for item in value)
    return value


def storage_key(contract: str, prefix: str, key: Any) -> bytes:
    """The state key of one storage map entry (`prefix` as declared); ContractError if `key` cannot be a map key."""
    return ns.contract_data_key(contract, map_key(Meter(DEFAULT_LIMITS), prefix.encode("utf-8") + b"\0", as_map_key(key)))

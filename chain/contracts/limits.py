"""Resource limits of the contract VM: protocol constants, the same on every node (part of the IR version)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one invocation (with the calls it makes) may consume; simulate may lower gas, never raise it."""

    gas: int = 5_000_000
    #: Frames of internal and cross-contract calls, together.
    call_depth: int = 32
    #: Units allocated (one per list/dict item, one per 16 bytes of text or bytes) over the whole invocation.
    memory_units: int = 4_000_000
    #: Largest integer any operation may produce, in bits (sign excluded).
    int_bits: int = 1024
    #: Longest single str/bytes value, in bytes, and most items in one list, tuple or dict.
    max_bytes: int = 1 << 20
    max_items: int = 1 << 16
    #: Encoded size of a return value, of one stored value, and of all events of an invocation.
    output_bytes: int = 64 * 1024
    value_bytes: int = 64 * 1024
    event_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()

# Static limits checked when code is compiled or loaded.
MAX_SOURCE_BYTES = 512 * 1024
MAX_IR_BYTES = 1024 * 1024
MAX_NESTING = 40
MAX_FUNCTIONS = 256
MAX_PARAMS = 16

# Gas schedule (docs/contracts.md, "Gas").
GAS_NODE = 1
GAS_CALL = 20
GAS_CONTRACT_CALL = 500
GAS_LOAD = 40
GAS_STORE = 200
GAS_STORE_BYTE = 4
GAS_EMIT = 100
GAS_EMIT_BYTE = 2
GAS_PER_ITEM = 1

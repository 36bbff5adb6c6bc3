"""The built-in mapper: every accepted message is logged in the device log contract (by digest).

Configure it as "iot_bridge.device_log_mapper:DeviceLogMapper". It refuses
nothing itself: the contract refuses a (device, seq) logged before. It also
merges (see iot_bridge.mapping.MergingMapper): a run of one device's messages
with consecutive sequence numbers in one drain batch becomes one
`log(device, first_seq, [digest, ...])` call of at most `max_merge` digests, which the contract stores as one run
record and one LoggedRun event (see docs/iot.md §7).
"""
from __future__ import annotations

from typing import Sequence

from iot_bridge.contract import CONTRACT_NAME
from iot_bridge.errors import BridgeError
from iot_bridge.mapping import Invocation, MappedInput, Merged

#: At most this many digests per `log` call (MAX_DIGESTS of iot_bridge/contract/device_log.py).
MAX_DIGESTS = 256


class DeviceLogMapper:
    """Maps each message to `log(device, seq, [sha256 of the message bytes])` of the device log contract."""

    def __init__(self, contract: str = CONTRACT_NAME, max_merge: int = MAX_DIGESTS) -> None:
        if not 1 <= int(max_merge) <= MAX_DIGESTS:
            raise ValueError(f"max_merge must be 1-{MAX_DIGESTS}, got {max_merge}")
        self.contract = contract
        self.max_merge = int(max_merge)

    def map_batch(self, events: Sequence[MappedInput]) -> list[Invocation | BridgeError]:
        """One `log` invocation per message, in order."""
        return [Invocation(self.contract, "log", [e.message.device, e.message.seq, [e.digest]]) for e in events]

    def merge(self, invocations: Sequence[Invocation]) -> list[Merged]:
        """Fold each device's runs of consecutive sequence numbers into one `log` call (each device's calls stay
        in their order; calls of different devices may interleave differently, which the contract does not
        mind). Invocations that are not this contract's `log` pass through alone."""
        merged: list[tuple[str, str, int, list[bytes], list[int]]] = []  # contract, device, first_seq, digests, idx
        open_run: dict[tuple[str, str], int] = {}  # (contract, device) -> index in merged of its latest run
        for index, inv in enumerate(invocations):
            if inv.function != "log" or inv.contract != self.contract or len(inv.args) != 3:
                merged.append(("", "", 0, [], [index]))
                continue
            device, seq, digests = inv.args[0], int(inv.args[1]), list(inv.args[2])
            at = open_run.get((inv.contract, device))
            if at is not None:
                contract, _, first, run, indices = merged[at]
                if first + len(run) == seq and len(run) + len(digests) <= self.max_merge:
                    run.extend(digests)
                    indices.append(index)
                    continue
            open_run[(inv.contract, device)] = len(merged)
            merged.append((inv.contract, device, seq, digests, [index]))
        out: list[Merged] = []
        for contract, device, first, digests, indices in merged:
            if not contract:
                out.append((invocations[indices[0]], indices))
            else:
                out.append((Invocation(contract, "log", [device, first, digests]), indices))
        return out

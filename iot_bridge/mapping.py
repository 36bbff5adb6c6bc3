"""How accepted device messages become contract invocations: the mapper interface and its loader.

The bridge knows nothing of the applications: a mapper turns each accepted
message into one contract invocation, and may optionally merge several
invocations into one call (`merge`, see MergingMapper: the drainer uses it
when present, so e.g. a run of one device's consecutive sequence numbers
becomes one contract call); configuration names it as
"package.module:factory" (loaded with importlib at run time), so the
traceability application's mapper (apps/traceability/iot.py) plugs in without
iot_bridge importing apps/. iot_bridge/device_log_mapper.py is the built-in one.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

from iot_bridge.devices import Device
from iot_bridge.errors import BridgeError
from iot_bridge.message import DeviceMessage


@dataclass(frozen=True)
class Invocation:
    """One contract call: `args` are contract values (see chain.sdk.encode_args)."""

    contract: str
    function: str
    args: list[Any]


@dataclass(frozen=True)
class MappedInput:
    """An accepted message as the mapper sees it: its device, the decoded message, sha256 of its bytes, the bytes."""

    device: Device
    message: DeviceMessage
    digest: bytes
    raw: bytes


@runtime_checkable
class MapperAPI(Protocol):
    """Maps a batch of accepted messages (in outbox order) to invocations."""

    def map_batch(self, events: Sequence[MappedInput]) -> list[Invocation | BridgeError]:
        """One entry per input, in order; a BridgeError (INVALID_EVENT or CHAIN_REFUSED) refuses that event only."""
        ...


#: One merged call and the indices (into the list given to `merge`) of the invocations it stands for.
Merged = tuple[Invocation, list[int]]


@runtime_checkable
class MergingMapper(Protocol):
    """Optional: a mapper that can fold several invocations into one contract call."""

    def merge(self, invocations: Sequence[Invocation]) -> list[Merged]:
        """Merged calls covering every input index exactly once; the calls of one device keep their relative
        order, and each merged call must do exactly what its invocations would do one after the other (the
        drainer retries the invocations of a refused merged call one by one to find the culprit)."""
        ...


def load_mapper(spec: str, **options: Any) -> MapperAPI:
    """The mapper `factory(**options)` of "package.module:factory"."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a mapper is named 'package.module:factory', not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import the mapper module {module_name!r}: {exc}") from None
    factory = getattr(module, attribute, None)
    if factory is None or not callable(factory):
        raise ValueError(f"{module_name} has no callable {attribute!r}")
    mapper = factory(**options)
    if not isinstance(mapper, MapperAPI):
        raise ValueError(f"{spec} made a {type(mapper).__name__}, which has no map_batch method")
    return mapper

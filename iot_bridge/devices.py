"""Which devices exist, whose they are, and whether they may speak: read from the chain through chain.sdk.

A device is a user registered on chain (RegisterUser) from a leaf certificate
with role "device", issued by its organisation's CA. Its state is the user's
state on chain: NORMAL (active), FROZEN (suspended, reversible) or REVOKED
(final). The registry reads that state at the chain head, caches it, refreshes
every `refresh_s` and once more (rate-limited) when an unknown address shows
up, so a freshly registered device is accepted at once.

"Refused from the revocation height on", as the bridge can honour it: once the
block that revokes (or freezes) a device is committed and the registry has
refreshed (at most `refresh_s` later), every message of that device is refused.
Messages accepted before that moment are already durable in the outbox and go
to chain: they were valid when they arrived, and dropping them would lose
events silently.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from chain.ca import CAError, Certificate
from chain.crypto import CryptoError, PublicKey
from chain.sdk import Client, SdkError

from iot_bridge.errors import RegistryUnavailable

log = logging.getLogger(__name__)

ACTIVE, FROZEN, REVOKED = "active", "frozen", "revoked"
_STATES = {"NORMAL": ACTIVE, "FROZEN": FROZEN, "REVOKED": REVOKED}
DEVICE_ROLE = "device"


@dataclass(frozen=True)
class Device:
    """A registered identity as the bridge sees it: `roles` is the certificate role first, then the ledger roles."""

    address: str
    organisation: str
    state: str
    public_key: PublicKey
    roles: tuple[str, ...]

    @property
    def is_device(self) -> bool:
        """True if its certificate (or a ledger role) makes it a device."""
        return DEVICE_ROLE in self.roles


class DeviceRegistry:
    """Devices from the chain, cached; `get(address)` never does I/O unless the cache is due or the address is new.

    Keys and certificates never change for an address (the address is the key's hash), so each is fetched once;
    states and ledger roles are re-read from the user list at every refresh. When the chain cannot be reached the
    last view is kept for up to `max_stale_s`; after that (or with no view at all) `get` raises RegistryUnavailable,
    which makes the intake acknowledge nothing rather than refuse messages it cannot judge.
    """

    def __init__(self, client: Client | None, *, refresh_s: float = 2.0, miss_refresh_s: float = 1.0,
                 max_stale_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 is_revoked: Callable[[Certificate], bool] | None = None) -> None:
        self._client = client
        self.refresh_s = refresh_s
        self.miss_refresh_s = miss_refresh_s
        self.max_stale_s = max_stale_s
        self._clock = clock
        self._is_revoked = is_revoked
        self._devices: dict[str, Device] = {}
        self._identity: dict[str, tuple[PublicKey, str, Certificate | None]] = {}  # address -> key, cert role, cert
        self._certificate_ids: dict[str, tuple[str, str]] = {}  # address -> (issuer fingerprint, serial), hex
        self._crl: set[tuple[str, str]] = set()  # the chain's revocation list at the last refresh
        self._loaded_at: float | None = None
        self._last_attempt = float("-inf")
        self._last_miss_refresh = float("-inf")
        self._failing = False
        self._lock = threading.Lock()

    @classmethod
    def static(cls, devices: Iterable[Device]) -> DeviceRegistry:
        """A registry of fixed devices and no chain (unit tests, offline tools)."""
        registry = cls(None)
        registry._devices = {d.address: d for d in devices}
        registry._loaded_at = float("inf")
        return registry

    def put(self, device: Device) -> None:
        """Add or replace a device of a static registry."""
        if self._client is not None:
            raise ValueError("only a static registry takes devices by hand")
        with self._lock:
            self._devices[device.address] = device

    def get(self, address: str) -> Device | None:
        """The device with this address as the chain last said, or None if no identity has it."""
        now = self._clock()
        if self._client is not None and self._loaded_at is not None and now - self._loaded_at >= self.refresh_s:
            self._try_refresh(now)
        found = self._devices.get(address)
        if found is None and self._client is not None:
            if now - self._last_miss_refresh >= self.miss_refresh_s:
                self._last_miss_refresh = now
                self._try_refresh(now, force=True)
                found = self._devices.get(address)
            if found is None and self._failing:
                raise RegistryUnavailable(f"cannot tell whether {address} is a device: the chain is unreachable")
        if self._client is not None and (self._loaded_at is None or now - self._loaded_at > self.max_stale_s):
            raise RegistryUnavailable("the device registry has no recent view of the chain")
        return found

    def devices(self) -> list[Device]:
        """Every known identity that is a device."""
        return [d for d in self._devices.values() if d.is_device]

    def refresh(self) -> None:
        """Re-read every registered identity now (raises the SDK's error if the chain cannot be reached)."""
        if self._client is None:
            return
        with self._lock:
            users = self._client.users(limit=1_000_000)
            self._crl = {(r["issuer_fingerprint"], r["serial"]) for r in self._client.revocations()}
            fresh: dict[str, Device] = {}
            for user in users:
                device = self._device(user)
                if device is not None:
                    fresh[device.address] = device
            self._devices = fresh
            self._loaded_at = self._clock()

    def _try_refresh(self, now: float, force: bool = False) -> None:
        if not force and now - self._last_attempt < min(self.refresh_s, 1.0):
            return  # one attempt per interval even while the chain is down
        self._last_attempt = now
        try:
            self.refresh()
            self._failing = False
        except (SdkError, OSError) as exc:
            self._failing = True
            log.warning("device registry: could not refresh from the chain: %s", exc)

    def _device(self, user: dict[str, Any]) -> Device | None:
        address = user["address"]
        identity = self._identity.get(address)
        if identity is None:
            assert self._client is not None
            full = self._client.user(address)
            try:
                key = PublicKey.decode(bytes.fromhex(full["public_key"]))
            except (CryptoError, ValueError):
                log.warning("device registry: user %s has an unreadable key", address)
                return None
            cert: Certificate | None = None
            try:
                cert = Certificate.parse(bytes.fromhex(full.get("certificate", "")))
                role = cert.role or ""
            except (CAError, ValueError):
                role = ""
            identity = self._identity[address] = (key, role, cert)
            if full.get("issuer_fingerprint") and full.get("serial"):
                self._certificate_ids[address] = (full["issuer_fingerprint"], full["serial"])
        key, role, cert = identity
        state = _STATES.get(user["state"], REVOKED)
        if state != REVOKED and self._certificate_ids.get(address) in self._crl:
            state = REVOKED  # its certificate is on the chain's revocation list
        if state != REVOKED and cert is not None and self._is_revoked is not None and self._is_revoked(cert):
            state = REVOKED
        roles = tuple(dict.fromkeys([role, *user.get("roles", [])]))
        return Device(address, user["participant"], state, key, tuple(r for r in roles if r))

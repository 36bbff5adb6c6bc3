"""Mosquitto for the tests: the machine's broker on 127.0.0.1:1883, and private brokers (TLS + ACL, or plain with
persistence) on free ports below 32768, with a test PKI issued by chain.ca (classic suite, ECDSA P-256)."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from chain.ca import CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.ca.keyinfo import to_cryptography_private
from chain.crypto import CLASSIC, Algorithm, PrivateKey
from iot_bridge.local_broker import LocalBroker, random_loopback_port

MOSQUITTO = Path("/usr/sbin/mosquitto")
SYSTEM_CONFIG = Path("/etc/mosquitto/mosquitto.conf")
SYSTEM_HOST, SYSTEM_PORT = "127.0.0.1", 1883


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, up: bool = True, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port) == up:
            return True
        time.sleep(0.05)
    return False


def ensure_system_broker() -> str | None:
    """None when 127.0.0.1:1883 answers (starting the system Mosquitto if needed), else why not."""
    if port_open(SYSTEM_HOST, SYSTEM_PORT):
        return None
    if not MOSQUITTO.exists():
        return f"{MOSQUITTO} is missing (the Makefile's test target installs the mosquitto package)"
    Path("/run/mosquitto").mkdir(exist_ok=True)
    try:
        subprocess.run([str(MOSQUITTO), "-d", "-c", str(SYSTEM_CONFIG)], check=True, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not start mosquitto: {exc}"
    return None if wait_port(SYSTEM_HOST, SYSTEM_PORT) else "mosquitto started but 127.0.0.1:1883 does not answer"


def free_port() -> int:
    """A port below 32768 (under the Linux ephemeral range) that is free now."""
    return random_loopback_port()


def _write_key(path: Path, key: PrivateKey) -> None:
    pem = to_cryptography_private(key).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)


@dataclass
class Identity:
    """A certificate holder: the chain.crypto key (its address is the device id) and PEM files for TLS."""

    name: str
    key: PrivateKey
    cert: Path
    key_file: Path

    @property
    def address(self) -> str:
        return str(CLASSIC.address_of(self.key.public_key()))


@dataclass
class DevicePKI:
    """Root -> org CA -> leaves; ca_bundle holds root + intermediate (what Mosquitto and clients trust)."""

    directory: Path
    org: str
    ca_bundle: Path
    server: Identity
    bridge: Identity
    devices: list[Identity] = field(default_factory=list)
    _org_ca: CertificateAuthority | None = None

    def leaf(self, name: str, role: str, key: PrivateKey | None = None, common_name: str | None = None,
             ip_addresses: tuple[str, ...] = ()) -> Identity:
        assert self._org_ca is not None
        key = key or PrivateKey.generate(Algorithm.ECDSA_P256)
        cn = common_name or (str(CLASSIC.address_of(key.public_key())) if role == "device" else name)
        cert = issue_leaf(self._org_ca, cn, role, key.public_key(), ip_addresses=ip_addresses)
        ident = Identity(cn, key, self.directory / f"{name}.crt", self.directory / f"{name}.key")
        ident.cert.write_text(cert.pem)
        _write_key(ident.key_file, key)
        return ident


def issue_test_pki(directory: Path, org: str = "org1", devices: int = 2) -> DevicePKI:
    """A consortium root, org1's CA, the broker's server certificate (IP 127.0.0.1), the bridge and device leaves.

    A device certificate's CN is the device's chain address, so Mosquitto's use_identity_as_username makes the
    address the MQTT username and the ACL pattern %u pins the device to trace/<org>/<address>/events.
    """
    directory.mkdir(parents=True, exist_ok=True)
    root_key = PrivateKey.generate(Algorithm.ECDSA_P256)
    root = create_root("TestConsortium", root_key)
    org_key = PrivateKey.generate(Algorithm.ECDSA_P256)
    org_cert = issue_intermediate(CertificateAuthority(root, root_key), org, org_key.public_key())
    bundle = directory / "ca.pem"
    bundle.write_text(root.pem + org_cert.pem)
    pki = DevicePKI(directory, org, bundle, None, None, _org_ca=CertificateAuthority(org_cert, org_key))  # type: ignore[arg-type]
    pki.server = pki.leaf("broker", "gateway", common_name="broker", ip_addresses=("127.0.0.1",))
    pki.bridge = pki.leaf("iot-bridge", "gateway", common_name="iot-bridge")
    pki.devices = [pki.leaf(f"device{i}", "device") for i in range(devices)]
    return pki


class PrivateBroker(LocalBroker):
    """A Mosquitto of the test's own on a random port below 32768: plain with persistence, or TLS + ACL."""

    def __init__(self, directory: Path, *, tls: DevicePKI | None = None, persistence: bool = True) -> None:
        super().__init__(directory, free_port(), persistence=persistence, max_queued=100_000,
                         log_types=("error", "warning", "notice", "information", "subscribe"))
        self.tls = tls
        self.acl = directory / "acl"

    def listener_lines(self) -> list[str]:
        """Plain and anonymous, or TLS with client certificates (CN = username) and a per-device ACL."""
        if self.tls is None:
            return super().listener_lines()
        p = self.tls
        self.acl.write_text(
            "# devices: publish only their own events, read their own answers\n"
            "pattern write trace/+/%u/events\n"
            "pattern read trace/+/%u/acks\n"
            "pattern read trace/+/%u/dead-letter\n"
            "\n"
            f"user {p.bridge.name}\n"
            "topic read trace/+/+/events\n"
            "topic write trace/+/+/acks\n"
            "topic write trace/+/+/dead-letter\n"
            "topic readwrite bridge/#\n"
        )
        return [f"listener {self.port} {self.host}", f"cafile {p.ca_bundle}", f"certfile {p.server.cert}",
                f"keyfile {p.server.key_file}", "require_certificate true", "use_identity_as_username true",
                "allow_anonymous false", f"acl_file {self.acl}"]


def system_broker_pid() -> int | None:
    pid_file = Path("/run/mosquitto/mosquitto.pid")
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None

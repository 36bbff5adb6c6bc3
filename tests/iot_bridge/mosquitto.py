"""Mosquitto for the tests: the machine's broker on 127.0.0.1:1883, and private brokers (TLS + ACL, or plain with
persistence) on free ports below 32768, with a test PKI issued by chain.ca (classic suite, ECDSA P-256)."""
from __future__ import annotations

import getpass
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from chain.ca import CertificateAuthority, create_root, issue_intermediate, issue_leaf
from chain.ca.keyinfo import to_cryptography_private
from chain.crypto import CLASSIC, Algorithm, PrivateKey

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
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found below 32768")


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


class PrivateBroker:
    """A Mosquitto process of our own: start, stop (SIGTERM saves its persistence file), restart, kill."""

    def __init__(self, directory: Path, *, tls: DevicePKI | None = None, persistence: bool = True) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.persistence = persistence
        self.host = "127.0.0.1"
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.acl = directory / "acl"
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        lines = [
            f"user {getpass.getuser()}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {data}/",
            "autosave_interval 1",
            f"log_dest file {self.log}",
            "log_type error", "log_type warning", "log_type notice", "log_type information", "log_type subscribe",
            "connection_messages true",
            "max_queued_messages 100000",
            "max_inflight_messages 1000",
            f"listener {self.port} {self.host}",
        ]
        if self.tls is None:
            lines.append("allow_anonymous true")
        else:
            p = self.tls
            lines += [
                f"cafile {p.ca_bundle}",
                f"certfile {p.server.cert}",
                f"keyfile {p.server.key_file}",
                "require_certificate true",
                "use_identity_as_username true",
                "allow_anonymous false",
                f"acl_file {self.acl}",
            ]
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
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen([str(MOSQUITTO), "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(self.host, self.port, up=True, timeout=10):
            err = b""
            if self.process.poll() is not None and self.process.stderr is not None:
                err = self.process.stderr.read()
            self.kill()
            raise RuntimeError(f"private mosquitto did not come up on {self.port}: {err.decode(errors='replace')} "
                               f"{self.log.read_text() if self.log.exists() else ''}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Mosquitto writes its persistence database and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        wait_port(self.host, self.port, up=False, timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def system_broker_pid() -> int | None:
    pid_file = Path("/run/mosquitto/mosquitto.pid")
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None

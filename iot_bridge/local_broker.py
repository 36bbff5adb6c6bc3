"""A Mosquitto process of our own on a loopback port: the zero-setup broker of `make run` and the benchmarks.

It is the real broker the bridge meets in production (docs/iot-operations.md),
started with a generated configuration: loopback only, persistence in its own
directory (so a restart keeps queued QoS 1 messages), queue and in-flight
limits sized for a bridge that may be away for a while.
"""
from __future__ import annotations

import getpass
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Where Debian's package puts the broker (`apt-get install mosquitto`); PATH is searched first.
DEBIAN_MOSQUITTO = Path("/usr/sbin/mosquitto")


class BrokerUnavailable(RuntimeError):
    """Mosquitto is not installed or did not start; the message says which and what to do."""


def mosquitto_binary() -> Path | None:
    """The mosquitto executable, or None if it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return DEBIAN_MOSQUITTO if DEBIAN_MOSQUITTO.exists() else None


def _bindable(port: int) -> bool:
    """Whether a listener could bind the port on 127.0.0.1 now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the broker does: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_loopback_port(first: int = 1884, last: int = 32_000) -> int:
    """The first port from `first` free on 127.0.0.1 (below the ephemeral range, so no client socket takes it)."""
    for port in range(first, last):
        if _bindable(port):
            return port
    raise BrokerUnavailable(f"no free loopback port in {first}..{last}")


def random_loopback_port(first: int = 20_000, last: int = 32_000) -> int:
    """A free port on 127.0.0.1 drawn at random from first..last (several processes picking at once rarely collide)."""
    for _ in range(500):
        port = random.randint(first, last)
        if _bindable(port):
            return port
    raise BrokerUnavailable(f"no free loopback port in {first}..{last}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


class LocalBroker:
    """Start, stop (SIGTERM: Mosquitto saves its persistence file), restart and kill a private Mosquitto.

    Subclasses change the listener (e.g. TLS with client certificates and an ACL) through `listener_lines`.
    """

    def __init__(self, directory: Path, port: int | None = None, *, persistence: bool = True,
                 max_queued: int = 1_000_000, max_inflight: int = 1000,
                 log_types: tuple[str, ...] = ("error", "warning", "notice")) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_loopback_port()
        self.persistence = persistence
        self.max_queued, self.max_inflight, self.log_types = max_queued, max_inflight, log_types
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """mqtt://127.0.0.1:PORT"""
        return f"mqtt://{self.host}:{self.port}"

    def listener_lines(self) -> list[str]:
        """The listener: plain, loopback, anonymous."""
        return [f"listener {self.port} {self.host}", "allow_anonymous true"]

    def write_config(self) -> None:
        """The broker's configuration file."""
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [f"user {getpass.getuser()}", f"persistence {'true' if self.persistence else 'false'}",
                 f"persistence_location {data}/", "autosave_interval 1", f"log_dest file {self.log}",
                 *(f"log_type {t}" for t in self.log_types), "connection_messages true",
                 f"max_queued_messages {self.max_queued}", f"max_inflight_messages {self.max_inflight}",
                 *self.listener_lines()]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout_s: float = 10.0) -> None:
        """Run it; BrokerUnavailable if Mosquitto is missing or does not listen within timeout_s."""
        if self.process is not None and self.process.poll() is None:
            raise BrokerUnavailable(f"the broker on {self.port} is already running")
        binary = mosquitto_binary()
        if binary is None:
            raise BrokerUnavailable("Mosquitto is not installed: `apt-get install -y mosquitto` (make run tries it)")
        self.write_config()
        self.process = subprocess.Popen([str(binary), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None and \
                    self.process.stderr is not None else "no answer"
                self.kill()
                raise BrokerUnavailable(f"Mosquitto did not start on {self.host}:{self.port}: {err.strip()} "
                                        f"{self.log_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop it cleanly (its queued messages are saved) and wait until the port is closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        deadline = time.monotonic() + 5
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop cleanly and start again on the same port and persistence file."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """Stop it at once (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log_text(self) -> str:
        """What the broker logged."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

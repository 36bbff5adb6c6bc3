"""Fixtures that start real node processes on loopback ports."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from chain.node.client import NodeClient
from chain.node.devsetup import init_node_dir

PASSWORD = "test-password"
REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """A `chain node run` subprocess."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, CHAIN_KEY_PASSWORD=PASSWORD, PYTHONPATH=str(REPO))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "chain.cli.main", "node", "run", "--config", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with NodeClient("127.0.0.1", self.port, timeout=5) as c:
                    c.call("status")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"node did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def client(self) -> NodeClient:
        return NodeClient("127.0.0.1", self.port)


@pytest.fixture
def node_dir(tmp_path: Path) -> tuple[Path, int]:
    """A fresh single-validator node directory (SM suite, two ledgers) and its port."""
    port = free_port()
    config = init_node_dir(tmp_path / "node", suite="sm", ledgers=["main", "audit"], port=port,
                           password=PASSWORD.encode(), scrypt_n=2**10)
    return config, port


@pytest.fixture
def node(node_dir: tuple[Path, int], tmp_path: Path) -> Iterator[NodeProcess]:
    """A running node; stopped (SIGTERM) after the test."""
    config, port = node_dir
    proc = NodeProcess(config, port, tmp_path / "node.log")
    proc.start()
    yield proc
    proc.stop()

"""The node part of `make run`: a local single-validator node with demo data, left running."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from chain.codec.schema import from_cbor
from chain.crypto import get_suite
from chain.crypto.keystore import load_key
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader
from chain.ledger.model import DataEntry
from chain.ledger.operations import Operation, PublishEvent, RegisterDataAccount, RegisterEventAccount, WriteKV
from chain.ledger.smt import SparseMerkleProof, verify_proof
from chain.node.client import NodeClient
from chain.node.devsetup import init_node_dir

DEFAULT_PORT = 7400


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(config: Path, password: bytes, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, CHAIN_KEY_PASSWORD=password.decode())
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "chain.cli.main", "node", "run", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the node exited; see {log}")
        try:
            with NodeClient("127.0.0.1", port, timeout=5) as c:
                c.call("status")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the node did not start within 60 s; see {log}")


def run_node_demo(directory: Path, password: bytes, say: Callable[[str], None], keep_running: bool) -> None:
    """Create (once) and start a node with a classic and an sm ledger, write demo data, verify a proof."""
    config = directory / "node.json"
    if not config.exists():
        port = DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port()
        init_node_dir(directory, suite="classic", ledgers=["main"], port=port, password=password, scrypt_n=2**12)
    import json

    port = int(json.loads(config.read_text())["listen"].rsplit(":", 1)[1])
    if not _port_free(port):
        raise RuntimeError(f"port {port} is in use; stop the other node or delete {directory} to get a new port")
    log = directory / "node.log"
    proc = _start(config, password, log)
    try:
        _wait_ready(port, proc, log)
        admin = load_key(directory / "keys" / "admin.key", password)
        with NodeClient("127.0.0.1", port) as c:
            status = c.status("main")
            say(f"== node: ledger 'main' ({status['suite']}) at height {status['height']}, client port 127.0.0.1:{port}")
            stamp = str(int(time.time()))
            ops: list[Operation] = [WriteKV("demo-items", f"sku-{i}-{stamp}", f"commissioned batch {stamp}".encode(), -1) for i in range(3)]
            if status["height"] == 0:
                ops = [RegisterDataAccount("demo-items", ()), RegisterEventAccount("demo-alerts"), *ops]
            ops.append(PublishEvent("demo-alerts", "temperature", b"cold chain ok", None))
            tx = c.build("main", ops, [admin])
            c.submit("main", [tx])
            outcome = c.wait("main", tx.hash)
            receipt = outcome.get("receipt", {})
            say(f"   transaction  {tx.hash.hex()[:16]}… {outcome['status']} in block {receipt.get('height')} ({receipt.get('code_name')})")
            key = ns.data_entry_key("demo-items", f"sku-0-{stamp}")
            state = c.call("state", ledger="main", key=key)
            header = from_cbor(BlockHeader, c.call("block", ledger="main", height=state["height"])["header"])
            suite = get_suite(status["suite"])
            verify_proof(suite.digest, header.state_root, suite.digest(key), suite.digest(state["value"]),
                         SparseMerkleProof.from_cbor(state["proof"]))
            entry = from_cbor(DataEntry, state["value"])
            say(f"   state proof  demo-items/sku-0-{stamp} = {entry.value.decode()!r}: verified against block {state['height']}'s state root")
        say(f"   files        {directory} (keys, certificates, genesis, LevelDB ledger, node.log)")
        if not keep_running:
            return
        say("\nThe node keeps running. Try, in another terminal:")
        say(f"   export CHAIN_KEY_PASSWORD={password.decode()}")
        say(f"   .venv/bin/chain query history demo-items sku-0-{stamp} --node 127.0.0.1:{port}")
        say(f"   .venv/bin/chain tx write demo-items my-key my-value --node 127.0.0.1:{port} --key-file {directory}/keys/admin.key")
        say(f"   .venv/bin/chain block show --node 127.0.0.1:{port}")
        say("Press Ctrl-C to stop it.")
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

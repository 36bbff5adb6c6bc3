"""The node part of `make run`: a local 4-validator BFT consortium (separate processes) with demo data, left running."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from waitress import create_server

from chain.codec.schema import from_cbor
from chain.contracts import compile_source, decode_value, encode_args
from chain.crypto import get_suite
from chain.crypto.keystore import load_key
from chain.ledger import namespaces as ns
from chain.ledger.block import BlockHeader, CommitCertificate
from chain.ledger.model import DataEntry
from chain.ledger.operations import (
    DeployContract, InvokeContract, Operation, PublishEvent, RegisterDataAccount, RegisterEventAccount, WriteKV,
)
from chain.ledger.smt import SparseMerkleProof, verify_proof
from chain.sdk import Client
from chain.gateway import GatewayConfig, create_app
from chain.node.client import NodeClient, NodeError
from chain.node.config import NodeConfig
from chain.node.netsetup import init_network
from chain.node.processes import down, node_directories, up

DEFAULT_PORT = 7400
GATEWAY_PORT = 8080
VALIDATORS = 4


def _ports_free(base: int) -> bool:
    return all(port_free(base + offset + i) for offset in (0, 100) for i in range(VALIDATORS))


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _base_port() -> int:
    for base in (DEFAULT_PORT, 17400, 27400, 37400):
        if _ports_free(base):
            return base
    raise RuntimeError("no free block of ports found for the demo consortium")


def _contract_demo(config: NodeConfig, homes: list[Path], password: bytes, say: Callable[[str], None]) -> None:
    """Deploy the example token (every organisation's admin endorses: the default majority policy), then transfer."""
    source = Path(__file__).resolve().parents[1] / "contracts" / "examples" / "token.py"
    admins = [load_key(path, password) for path in sorted((homes[0] / "keys").glob("admin*.key"))]
    with NodeClient(config.host, config.port) as c:
        try:
            c.contract("main", "demo-token")
            ops: list[Operation] = []
        except NodeError:
            ir = compile_source(source.read_text(encoding="utf-8"), source.name).encode()
            ops = [DeployContract("demo-token", ir, None), InvokeContract("demo-token", "init", encode_args(["Demo", "DMO", 10**6]))]
        ops.append(InvokeContract("demo-token", "transfer", encode_args(["retailer-1", 25])))
        tx = c.build("main", ops, admins if len(ops) > 1 else admins[:1])
        c.submit("main", [tx])
        receipt = c.wait("main", tx.hash).get("receipt", {})
        results = decode_value(receipt["result"]) if receipt.get("result") else []
        balance = c.simulate("main", c.build("main", [InvokeContract("demo-token", "balance_of", encode_args(["retailer-1"]))],
                                             admins[:1]))[0]["value"]
        say(f"   contract     demo-token (chain/contracts/examples/token.py) endorsed by {len(admins)} organisations: "
            f"transfer {receipt.get('code_name')} in block {receipt.get('height')}, gas {results[-1][1] if results else '?'}; "
            f"retailer-1 now holds {balance} (dry run)")


class ServedApp:
    """A WSGI app served by waitress in a thread of the demo process; `home` is the path to open first."""

    def __init__(self, app: object, server: object, url: str, home: str) -> None:
        self.app, self.server, self.url, self.home = app, server, url, home

    def stop(self) -> None:
        gateway = self.app.extensions.get("gateway")  # type: ignore[attr-defined]
        if gateway is not None:
            gateway.close()
        self.server.close()  # type: ignore[attr-defined]


def serve_in_thread(app: object, port: int, name: str, home: str, threads: int = 16) -> ServedApp:
    """Serve an app on 127.0.0.1:port (another free port if that one is taken)."""
    server = create_server(app, host="127.0.0.1", port=port if port_free(port) else 0, threads=threads, channel_timeout=300)
    threading.Thread(target=server.run, name=name, daemon=True).start()
    return ServedApp(app, server, f"http://127.0.0.1:{server.effective_port}", home)


#: A front end started over the gateway: called with the gateway's URL and `say`, it reports and returns what it serves.
FrontEnd = Callable[[str, Callable[[str], None]], ServedApp]


def _start_gateway(directory: Path, configs: list[NodeConfig], homes: list[Path], password: bytes,
                   say: Callable[[str], None], stamp: str) -> ServedApp:
    """Serve the gateway on 127.0.0.1:8080 (another free port if taken) over all four nodes; read through it with a proof."""
    custody = directory / "gateway" / "custody"
    custody.mkdir(parents=True, exist_ok=True)
    for key_file in sorted((homes[0] / "keys").glob("admin*.key")):
        target = custody / key_file.name
        target.write_bytes(key_file.read_bytes())
        target.chmod(0o600)
    served = serve_in_thread(create_app(GatewayConfig([f"{c.host}:{c.port}" for c in configs], custody, password)),
                             GATEWAY_PORT, "gateway", "/v1/openapi.json", threads=48)
    url = served.url
    entry = Client(url, "main", key=load_key(homes[0] / "keys" / "admin.key", password)).entry("demo-items", f"sku-1-{stamp}")
    say(f"   gateway      {url}/v1 (OpenAPI {url}/v1/openapi.json): demo-items/sku-1-{stamp} read through it, "
        f"proof {'verified' if entry.verified else 'not checked'} by the SDK's light client at block {entry.height}")
    return served


def _state_once_synced(client: NodeClient, key: bytes, height: int, home: Path, timeout_s: float = 90) -> dict[str, Any]:
    """The state entry at `height` read from a node, once that node has committed it (a restarted node may still be
    catching up)."""
    deadline = time.monotonic() + timeout_s
    while client.call("wait_height", ledger="main", height=height, timeout_ms=5_000)["height"] < height:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{home.name} did not reach block {height} within {timeout_s:.0f} s; see {home / 'node.log'}")
    state: dict[str, Any] = client.call("state", ledger="main", key=key, height=height)
    if state["value"] is None:
        raise RuntimeError(f"{home.name} has no value for the demo key at block {height}")
    return state


def run_node_demo(directory: Path, password: bytes, say: Callable[[str], None], keep_running: bool,
                  front_ends: Sequence[FrontEnd] = ()) -> None:
    """Create (once) and start four validators, write demo data through one, read it back with a proof from another,
    then serve the gateway and the given front ends (higher layers pass them: chain/ never imports web/)."""
    if not (directory / "network.json").exists():
        init_network(directory, nodes=VALIDATORS, suite="classic", base_port=_base_port(), password=password,
                     scrypt_n=2**12)
    homes = node_directories(directory)
    configs = [NodeConfig.load(h / "node.json") for h in homes]
    started = up(directory, timeout=120)
    served: list[ServedApp] = []
    try:
        say(f"== consortium: {len(homes)} BFT validators as separate processes (tolerates 1 faulty)")
        for home, config in zip(homes, configs):
            assert config.consensus is not None
            say(f"   {home.name}  client 127.0.0.1:{config.port}  p2p {config.consensus.p2p_host}:{config.consensus.p2p_port}"
                f"  log {home / 'node.log'}")
        admin = load_key(homes[0] / "keys" / "admin.key", password)
        first, last = configs[0], configs[-1]
        with NodeClient(first.host, first.port) as c:
            status = c.status("main")
            stamp = str(int(time.time()))
            ops: list[Operation] = [WriteKV("demo-items", f"sku-{i}-{stamp}", f"commissioned batch {stamp}".encode(), -1)
                                    for i in range(3)]
            if status["height"] == 0:
                ops = [RegisterDataAccount("demo-items", ()), RegisterEventAccount("demo-alerts"), *ops]
            ops.append(PublishEvent("demo-alerts", "temperature", b"cold chain ok", None))
            tx = c.build("main", ops, [admin])
            c.submit("main", [tx])
            outcome = c.wait("main", tx.hash, timeout_ms=90_000)
            receipt = outcome.get("receipt", {})
            say(f"   transaction  {tx.hash.hex()[:16]}… sent to {homes[0].name}: {outcome['status']} in block "
                f"{receipt.get('height')} ({receipt.get('code_name')})")
            if outcome["status"] != "committed":
                raise RuntimeError(f"the demo transaction was not committed ({outcome}); see {homes[0] / 'node.log'}")
        key = ns.data_entry_key("demo-items", f"sku-0-{stamp}")
        with NodeClient(last.host, last.port) as c:
            state = _state_once_synced(c, key, receipt["height"], homes[-1])
            block = c.call("block", ledger="main", height=state["height"])
        header = from_cbor(BlockHeader, block["header"])
        suite = get_suite(status["suite"])
        verify_proof(suite.digest, header.state_root, suite.digest(key), suite.digest(state["value"]),
                     SparseMerkleProof.from_cbor(state["proof"]))
        entry = from_cbor(DataEntry, state["value"])
        say(f"   state proof  read from {homes[-1].name}: demo-items/sku-0-{stamp} = {entry.value.decode()!r}, verified "
            f"against block {state['height']}'s state root "
            f"({len(from_cbor(CommitCertificate, block['certificate']).votes)} validator signatures)")
        _contract_demo(first, homes, password, say)
        served.append(_start_gateway(directory, configs, homes, password, say, stamp))
        url = served[0].url
        served += [start(url, say) for start in front_ends]
        say(f"   files        {directory} (CA, keys, genesis, one LevelDB ledger per node, logs)")
        if not keep_running:
            return
        say("\nThe consortium keeps running. Try, in another terminal:")
        say(f"   export CHAIN_KEY_PASSWORD={password.decode()}")
        say(f"   .venv/bin/chain net status --dir {directory}")
        say(f"   .venv/bin/chain query history demo-items sku-0-{stamp} --node 127.0.0.1:{configs[1].port}")
        say(f"   .venv/bin/chain tx write demo-items my-key my-value --node 127.0.0.1:{configs[2].port} "
            f"--key-file {homes[0]}/keys/admin.key")
        say(f"   kill -9 $(cat {homes[1]}/node.pid)   # commits go on; then: .venv/bin/chain net up --dir {directory}")
        say(f"   curl {url}/v1/ledgers/main/blocks/latest")
        for front in served[1:]:
            say(f"   open {front.url}{front.home} in a browser")
        say("Press Ctrl-C to stop the consortium.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    finally:
        for app in reversed(served):
            app.stop()
        if started:
            _quiesce(configs)
            down(directory, timeout=30)


def _quiesce(configs: Sequence[NodeConfig], settle_s: float = 1.5, limit_s: float = 15.0) -> None:
    """Wait until every validator reports the same height and it stays put for `settle_s` (at most `limit_s`), so the
    consortium is stopped between blocks rather than with one in flight."""
    deadline, stable_since, last = time.monotonic() + limit_s, time.monotonic(), None
    while time.monotonic() < deadline:
        try:
            heights = []
            for config in configs:
                with NodeClient(config.host, config.port) as c:
                    heights.append(c.status("main")["height"])
        except (NodeError, OSError):
            return
        if last != heights or len(set(heights)) != 1:
            last, stable_since = heights, time.monotonic()
        elif time.monotonic() - stable_since >= settle_s:
            return
        time.sleep(0.2)


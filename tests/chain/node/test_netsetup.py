"""`chain net`: a 4-validator network on disk (both suites) and its nodes as real processes."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chain.ca import Certificate, verify_chain
from chain.crypto import CLASSIC, Address, Algorithm, get_suite
from chain.crypto.keystore import load_key
from chain.ledger.chain_store import ChainStore
from chain.net import NetConfig, Network, TlsIdentity, TrustAnchors
from chain.node.config import NodeConfig
from chain.node.devsetup import init_node_dir
from chain.node.netsetup import NetSetupError, init_network
from chain.node.processes import NetProcessError, down, node_directories, status, up
from chain.storage import open_store
from tests.chain.node.conftest import free_port

PASSWORD = b"net-test-password"
FAST = 2**10
BASE_PORT = 17400


@pytest.fixture(scope="module", params=["classic", "sm"])
def network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], str]:
    """A 4-node network directory (not running)."""
    suite: str = request.param
    directory = tmp_path_factory.mktemp(f"net-{suite}") / "net"
    configs = init_network(directory, nodes=4, suite=suite, base_port=BASE_PORT, password=PASSWORD, scrypt_n=FAST)
    return directory, configs, suite


def _ledger(path: Path) -> tuple[bytes, tuple[str, ...], int]:
    """Genesis block hash, validator addresses (text form) and genesis certificate size of a ledger database."""
    kv = open_store(str(path), create_if_missing=False)
    try:
        chain = ChainStore(kv)
        validators = tuple(str(Address.decode(v.address)) for v in chain.validators().validators)
        return chain.block_hash(0), validators, len(chain.certificate(0).votes)
    finally:
        kv.close()


def _own_ids(directory: Path) -> list[str]:
    return [n["address"] for n in json.loads((directory / "network.json").read_text())["nodes"]]


def test_every_node_holds_the_same_genesis_signed_by_all_validators(network: tuple[Path, list[Path], str]) -> None:
    directory, configs, suite = network
    assert [c.parent.name for c in configs] == ["node0", "node1", "node2", "node3"]
    assert node_directories(directory) == [c.parent for c in configs]
    ledgers = [_ledger(c.parent / "ledgers" / "main") for c in configs]
    assert len({block_hash for block_hash, _, _ in ledgers}) == 1
    assert all(item == ledgers[0] for item in ledgers)
    block_hash, validators, votes = ledgers[0]
    assert votes == 4 and len(validators) == 4
    info = json.loads((directory / "network.json").read_text())
    assert info["genesis_block_hash"] == {"main": block_hash.hex()}
    assert info["suite"] == suite and info["consensus"] == "bft"
    assert sorted(_own_ids(directory)) == sorted(validators)
    genesis = (directory / "genesis-main.json").read_bytes()
    assert all((c.parent / "genesis-main.json").read_bytes() == genesis for c in configs)
    assert [n["certificate"] for n in json.loads(genesis)["nodes"]] == [f"certs/validators/node{i}.pem" for i in range(4)]


def test_configs_list_the_other_validators_by_ledger_address(network: tuple[Path, list[Path], str]) -> None:
    directory, configs, suite = network
    _, validators, _ = _ledger(configs[0].parent / "ledgers" / "main")
    ids = {}
    for i, path in enumerate(configs):
        config = NodeConfig.load(path)
        key = load_key(config.node_key, config.password_file.read_text().splitlines()[0].encode())  # type: ignore[union-attr]
        ids[i] = str(Address.of(key.public_key(), get_suite(suite).hash_algorithm))
        assert (config.host, config.port) == ("127.0.0.1", BASE_PORT + i)
        assert [l.name for l in config.ledgers] == ["main"]
        assert config.consensus is not None and config.consensus.type == "bft"
        assert (config.consensus.p2p_host, config.consensus.p2p_port) == ("127.0.0.1", BASE_PORT + 100 + i)
        assert len(config.consensus.peers) == 3
    assert sorted(ids.values()) == sorted(validators)
    for i, path in enumerate(configs):
        consensus = NodeConfig.load(path).consensus
        assert consensus is not None
        others = [j for j in range(4) if j != i]
        assert [p.id for p in consensus.peers] == [ids[j] for j in others]
        assert [p.port for p in consensus.peers] == [BASE_PORT + 100 + j for j in others]
        for peer, j in zip(consensus.peers, others):  # the certificate we expect is the one that peer presents
            own = NodeConfig.load(configs[j]).consensus
            assert own is not None and peer.certificate.read_bytes() == own.tls_certificate.read_bytes()


def test_ledger_certificates_verify_with_chain_ca(network: tuple[Path, list[Path], str]) -> None:
    directory, configs, suite = network
    certs = directory / "certs"
    root = Certificate.parse((certs / "root.pem").read_bytes())
    orgs = [Certificate.parse((certs / f"org{k}-ca.pem").read_bytes()) for k in (1, 2)]
    now = datetime.now(timezone.utc)
    organisations = []
    for i, path in enumerate(configs):
        leaf = Certificate.parse((path.parent / "certs" / "node.pem").read_bytes())
        assert leaf.suite is get_suite(suite) and leaf.common_name == f"node{i}"
        verified = verify_chain(leaf, orgs, [root], [], at=now, expected_role="node", suite=get_suite(suite))
        organisations.append(verified.organisation)
        key = load_key(path.parent / "keys" / "node.key", PASSWORD)
        assert key.public_key() == leaf.public_key
    assert organisations == ["org1", "org2", "org1", "org2"]  # validators spread over two organisations
    admin = Certificate.parse((certs / "admin.pem").read_bytes())
    verify_chain(admin, orgs, [root], [], at=now, expected_role="admin", suite=get_suite(suite))
    assert load_key(configs[3].parent / "keys" / "admin.key", PASSWORD).public_key() == admin.public_key


def test_tls_material_is_classic_p256_and_loads_into_chain_net(network: tuple[Path, list[Path], str]) -> None:
    directory, configs, suite = network
    ledger_root = Certificate.parse((directory / "certs" / "root.pem").read_bytes())
    for path in configs:
        consensus = NodeConfig.load(path).consensus
        assert consensus is not None
        identity = consensus.tls_identity(PASSWORD)
        trust = consensus.trust_anchors()
        assert isinstance(identity, TlsIdentity) and isinstance(trust, TrustAnchors)
        assert identity.certificate.suite is CLASSIC and identity.key.algorithm is Algorithm.ECDSA_P256
        assert [c.subject for c in identity.chain] == [identity.certificate.issuer]
        assert trust.roots[0].der != ledger_root.der  # a separate TLS hierarchy
        trust.verify(identity.certificate, datetime.now(timezone.utc))
        for spec in consensus.peer_specs():
            assert spec.certificate.suite is CLASSIC
            trust.verify(spec.certificate, datetime.now(timezone.utc))
        TlsIdentity.load(consensus.tls_certificate, consensus.tls_key, PASSWORD, consensus.tls_intermediates)
        TrustAnchors.load(consensus.tls_roots, consensus.tls_intermediates)


def test_the_four_nodes_authenticate_each_other_over_chain_net(network: tuple[Path, list[Path], str]) -> None:
    """Every node's identity, trust anchors and peer list from node.json form a full mesh (ports chosen by the OS)."""
    directory, configs, _ = network
    consensus = [NodeConfig.load(p).consensus for p in configs]
    own_ids = _own_ids(directory)

    async def scenario() -> None:
        nets = []
        for me, c in zip(own_ids, consensus):
            assert c is not None
            specs = [s.__class__(s.node_id, s.certificate) for s in c.peer_specs()]  # addresses come below
            nets.append(Network(me, c.tls_identity(PASSWORD), c.trust_anchors(), specs, NetConfig(listen_port=0)))
            await nets[-1].start()
        ports = {me: net.address[1] for me, net in zip(own_ids, nets)}
        try:
            for me, c, net in zip(own_ids, consensus, nets):
                assert c is not None
                net.update_peers([s.__class__(s.node_id, s.certificate, "127.0.0.1", ports[s.node_id]) for s in c.peer_specs()])
            await asyncio.gather(*(n.wait_connected(timeout=15) for n in nets))
            assert nets[0].broadcast(b"hello") and len(nets[0].connected_peers()) == 3
            message = await asyncio.wait_for(nets[1].receive(), 10)
            assert (message.node_id, message.payload) == (own_ids[0], b"hello")
        finally:
            await asyncio.gather(*(n.stop() for n in nets))

    asyncio.run(scenario())


def test_password_files_are_private_and_named_by_the_config(network: tuple[Path, list[Path], str]) -> None:
    _, configs, _ = network
    for path in configs:
        config = NodeConfig.load(path)
        assert config.password_file == path.parent / "node.pw"
        assert stat.S_IMODE(config.password_file.stat().st_mode) == 0o600
        assert config.password_file.read_bytes() == PASSWORD + b"\n"
        assert stat.S_IMODE((path.parent / "keys" / "tls.key").stat().st_mode) == 0o600


def test_a_directory_that_holds_a_network_is_refused(network: tuple[Path, list[Path], str]) -> None:
    directory, _, _ = network
    before = sorted(p.name for p in directory.iterdir())
    with pytest.raises(NetSetupError, match="already holds a network") as err:
        init_network(directory, nodes=4, suite="classic", password=PASSWORD, scrypt_n=FAST)
    assert err.value.code == "already_exists"
    assert sorted(p.name for p in directory.iterdir()) == before


@pytest.mark.parametrize("kwargs,message", [
    ({"nodes": 0}, "number of nodes must be 1..100"),
    ({"nodes": 101}, "number of nodes must be 1..100"),
    ({"suite": "rsa"}, "unknown suite 'rsa'"),
    ({"base_port": 65500}, "base port 65500 does not fit"),
    ({"base_port": 0}, "base port 0 does not fit"),
    ({"password": b""}, "password must be non-empty"),
    ({"password": b"two\nlines"}, "single line"),
    ({"ledgers": []}, "one or more distinct ledger names"),
    ({"ledgers": ["main", "main"]}, "one or more distinct ledger names"),
    ({"ledgers": ["../x"]}, "ledger name '../x'"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"nodes": 4, "suite": "classic", "password": PASSWORD, "scrypt_n": FAST, **kwargs}
    with pytest.raises(NetSetupError, match=message):
        init_network(tmp_path / "net", **args)  # type: ignore[arg-type]
    assert not (tmp_path / "net").exists()


def test_a_directory_with_a_node_is_refused_and_other_files_are_kept(tmp_path: Path) -> None:
    (tmp_path / "node0").mkdir()
    with pytest.raises(NetSetupError, match="node0"):
        init_network(tmp_path, nodes=1, suite="classic", password=PASSWORD, scrypt_n=FAST)
    (tmp_path / "node0").rmdir()
    (tmp_path / "my.pw").write_text("x\n")
    init_network(tmp_path, nodes=1, suite="classic", password=PASSWORD, scrypt_n=FAST)
    assert (tmp_path / "my.pw").read_text() == "x\n"


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import chain.node.netsetup as netsetup

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(netsetup, "open_store", broken)
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(OSError, match="disk full"):
        init_network(tmp_path, nodes=2, suite="classic", password=PASSWORD, scrypt_n=FAST)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_one_node_is_a_solo_network(tmp_path: Path) -> None:
    [config_path] = init_network(tmp_path / "net", nodes=1, suite="sm", password=PASSWORD, scrypt_n=FAST, ledgers=["a", "b"])
    config = NodeConfig.load(config_path)
    assert config.consensus is None and [l.name for l in config.ledgers] == ["a", "b"]
    info = json.loads((tmp_path / "net" / "network.json").read_text())
    assert info["consensus"] == "solo" and set(info["genesis_block_hash"]) == {"a", "b"}
    _, validators, votes = _ledger(config_path.parent / "ledgers" / "a")
    assert votes == 1 and validators == (info["nodes"][0]["address"],)


# ----------------------------------------------------------------------------------------- processes

@pytest.fixture
def two_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A network directory with two independent solo nodes: node0 from `init_network`, node1 from `chain node init`."""
    directory = tmp_path / "net"
    init_network(directory, nodes=1, suite="classic", base_port=free_port(), password=PASSWORD, scrypt_n=FAST)
    init_node_dir(directory / "node1", suite="sm", ledgers=["main", "audit"], port=free_port(), password=b"other",
                  scrypt_n=FAST)
    monkeypatch.setenv("CHAIN_KEY_PASSWORD", "other")  # node1's config has no password file
    return directory


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


def test_up_status_down_with_real_processes(two_nodes: Path) -> None:
    directory = two_nodes
    try:
        started = up(directory, timeout=60)
        assert [p.name for p in started] == ["node0", "node1"]
        for proc in started:
            assert (proc.directory / "node.pid").read_text().strip() == str(proc.pid)
            assert os.getsid(proc.pid) == proc.pid  # detached: its own session
            assert "node listening" in (proc.directory / "node.log").read_text()
        report = status(directory)
        assert [(n.name, n.alive, n.reachable, n.running) for n in report] == [("node0", True, True, True), ("node1", True, True, True)]
        assert [n.pid for n in report] == [p.pid for p in started]
        assert [[(l["name"], l["height"]) for l in n.ledgers] for n in report] == [[("main", 0)], [("main", 0), ("audit", 0)]]
        with pytest.raises(NetProcessError, match="already running: node0") as err:
            up(directory)
        assert err.value.code == "already_running"
        assert [p.pid for p in status(directory)] == [p.pid for p in started]  # the refused call touched nothing
    finally:
        results = down(directory, timeout=30)
    assert [(r.name, r.outcome) for r in results] == [("node0", "stopped"), ("node1", "stopped")]
    assert all(_dead(p.pid) for p in started)
    assert not list(directory.glob("node*/node.pid"))
    report = status(directory)
    assert [(n.alive, n.reachable, n.running, n.pid) for n in report] == [(False, False, False, None)] * 2
    assert [r.outcome for r in down(directory)] == ["not running", "not running"]


def test_a_stale_pid_file_does_not_block_up(two_nodes: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (two_nodes / "node0" / "node.pid").write_text(f"{gone.pid}\n")
    (two_nodes / "node1" / "node.pid").write_text(f"{os.getpid()}\n")  # alive, but not that node's process
    try:
        started = up(two_nodes)
        assert all(p.pid not in (gone.pid, os.getpid()) for p in started)
    finally:
        down(two_nodes)


def test_a_node_that_fails_to_start_is_reported_with_its_log(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    [config] = init_network(directory, nodes=1, suite="classic", base_port=free_port(), password=PASSWORD, scrypt_n=FAST)
    (config.parent / "node.pw").write_text("wrong password\n")
    with pytest.raises(NetProcessError) as err:
        up(directory, timeout=60)
    assert err.value.code == "start_failed"
    assert "node0 exited during start-up" in str(err.value) and "password" in str(err.value).lower()
    assert not (config.parent / "node.pid").exists()


def test_down_kills_a_node_that_ignores_sigterm(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    [config] = init_network(directory, nodes=1, suite="classic", base_port=free_port(), password=PASSWORD, scrypt_n=FAST)
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(120)", "node", "run", "--config", str(config.resolve())],
        stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
        (config.parent / "node.pid").write_text(f"{stubborn.pid}\n")
        assert status(directory)[0].alive
        [result] = down(directory, timeout=0.5)
        assert (result.name, result.pid, result.outcome) == ("node0", stubborn.pid, "killed")
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
        assert not (config.parent / "node.pid").exists()
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()


def test_commands_on_a_directory_without_nodes_are_refused(tmp_path: Path) -> None:
    for command in (up, down, status):
        with pytest.raises(NetProcessError, match="chain net init") as err:
            command(tmp_path / "missing")
        assert err.value.code == "no_network"
        with pytest.raises(NetProcessError, match="holds no node directories"):
            command(tmp_path)

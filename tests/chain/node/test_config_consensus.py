"""node.json's optional "consensus" section: the contract between `chain net init` and the BFT engine."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from chain.crypto import Address, get_suite
from chain.node.config import ConfigError, ConsensusConfig, ConsensusPeer, NodeConfig


def _address() -> str:
    suite = get_suite("classic")
    return str(Address.of(suite.generate_keypair().public, suite.hash_algorithm))


PEER_IDS = [_address(), _address(), _address()]
BASE: dict[str, Any] = {
    "node_key": "keys/node.key",
    "listen": "127.0.0.1:7400",
    "ledgers": [{"name": "main", "path": "ledgers/main"}],
    "password_file": "node.pw",
}
BFT: dict[str, Any] = {
    "type": "bft",
    "p2p_listen": "127.0.0.1:7500",
    "tls_certificate": "certs/tls/node.pem",
    "tls_key": "keys/tls.key",
    "tls_roots": ["certs/tls/root.pem"],
    "tls_intermediates": ["certs/tls/org1-ca.pem", "certs/tls/org2-ca.pem"],
    "peers": [{"id": pid, "certificate": f"certs/tls/peers/node{i + 1}.pem", "host": "127.0.0.1", "port": 7501 + i}
              for i, pid in enumerate(PEER_IDS)],
}


def _load(tmp_path: Path, data: dict[str, Any]) -> NodeConfig:
    path = tmp_path / "conf" / "node.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    return NodeConfig.load(path)


def _with(consensus: Any) -> dict[str, Any]:
    return {**BASE, "consensus": consensus}


def test_a_config_without_the_section_loads_exactly_as_before(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE)
    base = (tmp_path / "conf").resolve()
    assert config == NodeConfig(base, base / "keys/node.key", "127.0.0.1", 7400,
                                config.ledgers, None, base / "node.pw")
    assert config.consensus is None


@pytest.mark.parametrize("section", [{"type": "solo"}, {}])
def test_solo_means_no_consensus_config(tmp_path: Path, section: dict[str, Any]) -> None:
    assert _load(tmp_path, _with(section)).consensus is None


def test_bft_section_parses_with_paths_relative_to_the_file_and_default_timings(tmp_path: Path) -> None:
    consensus = _load(tmp_path, _with(BFT)).consensus
    base = (tmp_path / "conf").resolve()
    assert isinstance(consensus, ConsensusConfig)
    assert (consensus.type, consensus.p2p_host, consensus.p2p_port) == ("bft", "127.0.0.1", 7500)
    assert consensus.tls_certificate == base / "certs/tls/node.pem"
    assert consensus.tls_key == base / "keys/tls.key"
    assert consensus.tls_roots == (base / "certs/tls/root.pem",)
    assert consensus.tls_intermediates == (base / "certs/tls/org1-ca.pem", base / "certs/tls/org2-ca.pem")
    assert consensus.peers == tuple(ConsensusPeer(pid, base / f"certs/tls/peers/node{i + 1}.pem", "127.0.0.1", 7501 + i)
                                    for i, pid in enumerate(PEER_IDS))
    assert (consensus.round_timeout_ms, consensus.max_round_timeout_ms, consensus.idle_proposal_ms,
            consensus.batch_size, consensus.batch_timeout_ms) == (1000, 8000, 250, 500, 50)
    with pytest.raises(AttributeError):
        consensus.batch_size = 1  # type: ignore[misc]  # frozen


def test_timings_can_be_set_and_peers_may_share_a_port_on_different_hosts(tmp_path: Path) -> None:
    section = copy.deepcopy(BFT)
    section.update(round_timeout_ms=500, max_round_timeout_ms=500, idle_proposal_ms=1, batch_size=10_000, batch_timeout_ms=5)
    section["p2p_listen"] = "10.0.0.1:7500"
    for i, peer in enumerate(section["peers"]):
        peer.update(host=f"10.0.0.{i + 2}", port=7500)
    consensus = _load(tmp_path, _with(section)).consensus
    assert consensus is not None
    assert (consensus.round_timeout_ms, consensus.max_round_timeout_ms, consensus.idle_proposal_ms,
            consensus.batch_size, consensus.batch_timeout_ms) == (500, 500, 1, 10_000, 5)
    assert [p.port for p in consensus.peers] == [7500, 7500, 7500]


def test_a_single_bft_validator_may_have_no_peers(tmp_path: Path) -> None:
    consensus = _load(tmp_path, _with({**BFT, "peers": []})).consensus
    assert consensus is not None and consensus.peers == ()


Mutation = Callable[[dict[str, Any]], None]


def _set(key: str, value: Any) -> Mutation:
    return lambda s: s.__setitem__(key, value)


def _drop(key: str) -> Mutation:
    return lambda s: s.pop(key)


def _peer(i: int, key: str, value: Any) -> Mutation:
    return lambda s: s["peers"][i].__setitem__(key, value)


INVALID: list[tuple[str, Mutation, str]] = [
    ("type", _set("type", "raft"), "'consensus.type' must be one of 'solo', 'bft'"),
    ("type-not-str", _set("type", 1), "'consensus.type'"),
    ("unknown-field", _set("round_timeout", 10), "'consensus.round_timeout' is not a consensus setting"),
    ("solo-with-peers", lambda s: s.__setitem__("type", "solo"), "applies to type 'bft' only"),
    ("p2p-missing", _drop("p2p_listen"), "'consensus.p2p_listen' is missing"),
    ("p2p-no-port", _set("p2p_listen", "127.0.0.1"), "'consensus.p2p_listen' must be host:port"),
    ("p2p-port-range", _set("p2p_listen", "127.0.0.1:70000"), "port in 1..65535"),
    ("p2p-port-zero", _set("p2p_listen", "127.0.0.1:0"), "port in 1..65535"),
    ("p2p-is-client", _set("p2p_listen", "localhost:7400"), "must differ from the client 'listen'"),
    ("cert-missing", _drop("tls_certificate"), "'consensus.tls_certificate' is missing"),
    ("cert-not-str", _set("tls_certificate", 5), "'consensus.tls_certificate'"),
    ("key-missing", _drop("tls_key"), "'consensus.tls_key' is missing"),
    ("key-empty", _set("tls_key", ""), "'consensus.tls_key'"),
    ("roots-missing", _drop("tls_roots"), "'consensus.tls_roots' must be a non-empty list"),
    ("roots-empty", _set("tls_roots", []), "'consensus.tls_roots' must be a non-empty list"),
    ("roots-str", _set("tls_roots", "certs/tls/root.pem"), "'consensus.tls_roots' must be a non-empty list"),
    ("roots-item", _set("tls_roots", [1]), "'consensus.tls_roots[0]'"),
    ("intermediates-missing", _drop("tls_intermediates"), "'consensus.tls_intermediates' must be a non-empty list"),
    ("peers-missing", _drop("peers"), "'consensus.peers' is missing or not a list"),
    ("peers-object", _set("peers", {}), "'consensus.peers' is missing or not a list"),
    ("peer-not-object", _set("peers", ["node1"]), "'consensus.peers[0]' must be an object"),
    ("peer-unknown-field", _peer(1, "name", "x"), "'consensus.peers[1].name' is not a peer setting"),
    ("peer-id-missing", lambda s: s["peers"][0].pop("id"), "'consensus.peers[0].id' is missing"),
    ("peer-id-not-address", _peer(0, "id", "node1"), "'consensus.peers[0].id' must be the validator's ledger address"),
    ("peer-cert-missing", lambda s: s["peers"][2].pop("certificate"), "'consensus.peers[2].certificate' is missing"),
    ("peer-host-empty", _peer(0, "host", ""), "'consensus.peers[0].host'"),
    ("peer-port-zero", _peer(0, "port", 0), "'consensus.peers[0].port' must be an integer in 1..65535"),
    ("peer-port-big", _peer(0, "port", 65536), "'consensus.peers[0].port' must be an integer in 1..65535"),
    ("peer-port-str", _peer(0, "port", "7501"), "'consensus.peers[0].port' must be an integer"),
    ("peer-port-bool", _peer(0, "port", True), "'consensus.peers[0].port' must be an integer"),
    ("peer-id-twice", _peer(1, "id", PEER_IDS[0]), "'consensus.peers[1].id': peer " + PEER_IDS[0] + " is listed twice"),
    ("peer-port-twice", _peer(2, "port", 7501), "'consensus.peers[2].port': 127.0.0.1:7501 is already another peer's"),
    ("peer-port-twice-localhost", lambda s: s["peers"][1].update(host="localhost", port=7501), "'consensus.peers[1].port'"),
    ("peer-is-us", _peer(0, "port", 7500), "'consensus.peers[0]': 127.0.0.1:7500 is this node's own p2p_listen"),
    ("peer-is-us-localhost", lambda s: s["peers"][0].update(host="localhost", port=7500), "this node's own p2p_listen"),
    ("round-zero", _set("round_timeout_ms", 0), "'consensus.round_timeout_ms' must be a positive integer"),
    ("round-negative", _set("round_timeout_ms", -5), "'consensus.round_timeout_ms' must be a positive integer"),
    ("round-float", _set("round_timeout_ms", 1.5), "'consensus.round_timeout_ms' must be a positive integer"),
    ("round-str", _set("round_timeout_ms", "1000"), "'consensus.round_timeout_ms' must be a positive integer"),
    ("round-bool", _set("round_timeout_ms", True), "'consensus.round_timeout_ms' must be a positive integer"),
    ("max-round", _set("max_round_timeout_ms", 0), "'consensus.max_round_timeout_ms' must be a positive integer"),
    ("max-below-round", _set("max_round_timeout_ms", 999), "'consensus.max_round_timeout_ms' must be at least"),
    ("idle", _set("idle_proposal_ms", -1), "'consensus.idle_proposal_ms' must be a positive integer"),
    ("batch-size", _set("batch_size", 0), "'consensus.batch_size' must be a positive integer"),
    ("batch-timeout", _set("batch_timeout_ms", None), "'consensus.batch_timeout_ms' must be a positive integer"),
]


@pytest.mark.parametrize("mutate,message", [pytest.param(m, msg, id=name) for name, m, msg in INVALID])
def test_each_invalid_field_is_named_with_the_file(tmp_path: Path, mutate: Mutation, message: str) -> None:
    section = copy.deepcopy(BFT)
    mutate(section)
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, _with(section))
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'conf' / 'node.json'}: field "), text
    assert message in text, text
    assert err.value.code == "invalid_argument"


@pytest.mark.parametrize("value", ["bft", ["bft"], None, 1])
def test_the_section_must_be_an_object(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ConfigError, match="field 'consensus' must be an object"):
        _load(tmp_path, _with(value))


def test_peer_specs_name_a_missing_certificate(tmp_path: Path) -> None:
    consensus = _load(tmp_path, _with(BFT)).consensus
    assert consensus is not None
    with pytest.raises(ConfigError, match=f"peer {PEER_IDS[0]}: cannot read its certificate .*node1.pem"):
        consensus.peer_specs()

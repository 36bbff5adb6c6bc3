"""Fixtures: a fresh database per test on SQLite and on PostgreSQL, and ledgers of real signed blocks.

PostgreSQL: $CHAIN_TEST_PG_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
(trust auth). Each test gets its own schema, dropped afterwards. If the server
is down the fixture starts the local cluster; if it still cannot connect, the
PostgreSQL half of the tests is skipped, except under CI=true, where it fails.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from chain.contracts import encode_args
from chain.crypto.keystore import load_key
from chain.indexer.models import Base
from chain.ledger.chain_store import ChainStore
from chain.ledger.devnet import Devnet, build_devnet
from chain.ledger.model import EntityState
from chain.ledger.operations import (
    DeployContract, InvokeContract, Operation, PublishEvent, RegisterDataAccount, RegisterEventAccount, SetContractState, UpgradeContract,
    WriteKV,
)
from chain.ledger.receipt import Receipt
from chain.node.devsetup import init_node_dir
from chain.storage.memory import MemoryKV
from tests.chain.ledger.conftest import LedgerHarness
from tests.chain.ledger.contract_code import COUNTER, COUNTER_V2, ORG1_ONLY
from tests.chain.node.conftest import PASSWORD, NodeProcess, free_port

PG_URL = os.environ.get("CHAIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Database:
    """A database to index into: its URL (PostgreSQL: with the test's schema as search path) and an engine on it."""

    kind: str
    url: str
    engine: Engine


def _connect_problem(url: str) -> Exception | None:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return exc
    finally:
        engine.dispose()


def _start_local_cluster() -> None:
    """Start the Debian-packaged cluster(s) of this machine (no systemd in containers)."""
    try:
        versions = os.listdir("/etc/postgresql")
    except OSError:
        return
    for version in versions:
        try:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                           capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass


@pytest.fixture(scope="session")
def postgres() -> str:
    """The URL of a reachable PostgreSQL server (started if it is down)."""
    problem = _connect_problem(PG_URL)
    if problem is not None:
        _start_local_cluster()
        deadline = time.monotonic() + 20
        while problem is not None and time.monotonic() < deadline:
            time.sleep(0.5)
            problem = _connect_problem(PG_URL)
    if problem is not None:
        message = f"PostgreSQL at {PG_URL} is not reachable: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped after the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'index.db'}"
        engine = create_engine(url)
        yield Database("sqlite", url, engine)
        engine.dispose()
        return
    base = request.getfixturevalue("postgres")
    schema = f"indexer_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_engine(scoped)
    try:
        yield Database("postgresql", scoped.render_as_string(hide_password=False), engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the read model, table by table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    return out


@pytest.fixture(scope="session")
def devnet() -> Devnet:
    """One classic consortium for the whole session (key generation is the slow part)."""
    return build_devnet("classic")


@pytest.fixture
def new_ledger(devnet: Devnet) -> Callable[[], LedgerHarness]:
    """Make a ledger at height 0; every one made from the devnet has the same genesis block."""
    def make() -> LedgerHarness:
        devnet.extra.clear()
        return LedgerHarness(devnet, ChainStore.create(MemoryKV(), devnet.genesis, [v.key for v in devnet.validators]))
    return make


@dataclass
class Sample:
    """A ledger whose blocks hold data writes (one failed), contract deploy, invokes with events (one failed), upgrade, freeze."""

    ledger: LedgerHarness
    receipts: dict[str, Receipt] = field(default_factory=dict)


def build_sample(ledger: LedgerHarness) -> Sample:
    """Blocks 1..6 of the sample ledger; receipts by name."""
    sample = Sample(ledger)
    admin, other = ledger.net.admins[0], ledger.net.admins[1]

    def block(**txs: Any) -> None:
        proposal = ledger.block(*txs.values())
        assert not proposal.rejected, proposal.rejected
        sample.receipts.update(zip(txs, proposal.receipts))

    block(open=ledger.tx([RegisterDataAccount("orders", ()), WriteKV("orders", "po-1", b"packed", -1)]))
    block(ship=ledger.tx([WriteKV("orders", "po-1", b"shipped", None)], admin, other),
          conflict=ledger.tx([WriteKV("orders", "po-1", b"lost", 5)]),
          second=ledger.tx([WriteKV("orders", "po-2", b"new", -1), WriteKV("orders", "po-2", b"newer", 0)]))
    block(deploy=ledger.tx([DeployContract("counter", COUNTER, ORG1_ONLY), RegisterEventAccount("alerts")]))
    block(publish=ledger.tx([PublishEvent("alerts", "t", b"a", None), InvokeContract("counter", "bump", encode_args([2])),
                             PublishEvent("alerts", "t", b"b", None)]))
    block(too_many=ledger.tx([InvokeContract("counter", "bump", encode_args([200]))]),
          bump=ledger.tx([InvokeContract("counter", "bump", encode_args([3]))]))
    block(upgrade=ledger.tx([UpgradeContract("counter", COUNTER_V2)]),
          freeze=ledger.tx([SetContractState("counter", EntityState.FROZEN)]))
    return sample


@pytest.fixture
def sample(new_ledger: Callable[[], LedgerHarness]) -> Sample:
    """A fresh sample ledger at height 6."""
    return build_sample(new_ledger())


@dataclass
class RunningNode:
    """A node process (sm suite, ledgers main and audit) with a few committed transactions; receipts by name."""

    process: NodeProcess
    receipts: dict[str, dict[str, Any]]


@pytest.fixture(scope="session")
def running_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One node for the session: data writes (one failed), a contract deploy and a call that publishes an event."""
    base = tmp_path_factory.mktemp("indexed-node")
    port = free_port()
    config = init_node_dir(base / "node", suite="sm", ledgers=["main", "audit"], port=port, password=PASSWORD.encode(),
                           scrypt_n=2**10)
    process = NodeProcess(config, port, base / "node.log")
    process.start()
    try:
        admin = load_key(config.parent / "keys" / "admin.key", PASSWORD.encode())
        receipts: dict[str, dict[str, Any]] = {}
        with process.client() as client:
            batches: dict[str, list[Operation]] = {
                "open": [RegisterDataAccount("orders", ()), WriteKV("orders", "po-1", b"packed", -1)],
                "conflict": [WriteKV("orders", "po-1", b"lost", 5)],
                "deploy": [DeployContract("counter", COUNTER, ORG1_ONLY)],
                "bump": [InvokeContract("counter", "bump", encode_args([4]))]}
            txs = {name: client.build("main", ops, [admin]) for name, ops in batches.items()}
            verdicts = client.submit("main", list(txs.values()))  # one sender: executed in this order
            assert all(v["accepted"] for v in verdicts), verdicts
            for name, tx in txs.items():
                outcome = client.wait("main", tx.hash)
                assert outcome["status"] == "committed", outcome
                receipts[name] = outcome["receipt"]
        yield RunningNode(process, receipts)
    finally:
        process.stop()

"""A real node, a real gateway and the traceability service on top, with five member organisations onboarded.

One stack serves a module's tests: a single-validator node process (LevelDB),
the gateway on a loopback port, a consortium CA whose organisations are
admitted on chain, the traceability contract deployed, and the read model in
SQLite (or PostgreSQL for the tests that ask for it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from apps.traceability.service import TraceConfig, TraceService
from apps.traceability.store import TraceStore
from chain.ca import CAStore
from chain.crypto.keystore import load_key
from chain.gateway import GatewayConfig, create_app
from chain.node.devsetup import init_node_dir
from chain.sdk import Client, PrivateKey
from chain.sdk.onboarding import ensure_member_role, onboard, trust_root
from chain.sdk.operations import ContractPolicy
from tests.chain.gateway.conftest import serve, stop_server
from tests.chain.node.conftest import PASSWORD, NodeProcess, free_port
from web.trace_demo import BRAND_A, BRAND_B, PARTIES
from web.trace_demo import CARRIER as DEMO_CARRIER
from web.trace_demo import SCANS as DEMO_SCANS
from web.trace_demo import SHOP as DEMO_SHOP

#: The demo's organisations (web/trace_demo.py): two brands, a logistics firm, a retailer, the consumer scan service.
BRAND, RIVAL, CARRIER, SHOP, SCANS = BRAND_A, BRAND_B, DEMO_CARRIER, DEMO_SHOP, DEMO_SCANS
PREFIXES = {BRAND: "0614141", RIVAL: "0690123"}


@dataclass
class TraceStack:
    """The running stack and the service over it."""

    url: str
    admin_key: PrivateKey
    admin: Client
    service: TraceService
    store: TraceStore
    base: Path


def start_trace_stack(base: Path, database_url: str | None = None) -> Iterator[TraceStack]:
    """Start node + gateway, onboard the organisations, deploy the contract, yield the stack, stop everything."""
    port = free_port()
    password = PASSWORD.encode()
    config = init_node_dir(base / "node", suite="classic", ledgers=["main"], port=port, password=password, scrypt_n=2**10)
    custody = base / "custody"
    custody.mkdir()
    node = NodeProcess(config, port, base / "node.log")
    node.start()
    try:
        app = create_app(GatewayConfig([f"127.0.0.1:{port}"], custody, password))
        url, server, thread = serve(app)
        try:
            admin_key = load_key(base / "node" / "keys" / "admin.key", password)
            admin = Client(url, "main", key=admin_key)
            CAStore.init(base / "ca", suite="classic", consortium="trace-test", password=password, scrypt_n=2**10)
            trust_root(admin, base / "ca")
            ensure_member_role(admin)
            keys = {org: onboard(admin, base / "ca", password, org, base / "keys" / f"{org}.key", password)
                    for org in PARTIES}
            store = TraceStore(database_url or f"sqlite:///{base / 'trace.db'}")
            service = TraceService(TraceConfig(url, "main", resolver="scan.example", parties=PARTIES, keys=keys,
                                               scan_service=SCANS), store)
            org = admin.user(admin.address)["participant"]
            service.deploy([admin_key], ContractPolicy(1, (org,)))
            for holder, prefix in PREFIXES.items():
                service.assign_prefix(admin, prefix, holder)
            yield TraceStack(url, admin_key, admin, service, store, base)
        finally:
            app.extensions["gateway"].close()  # type: ignore[attr-defined]
            stop_server(server, thread)
    finally:
        node.stop()

"""`make run`'s traceability part: member organisations, the contract, demo products and item histories, the web app.

On first run it admits two brands, a logistics firm, a retailer and the consumer
scan service (certificates from the consortium CA, registered on chain),
deploys the traceability contract endorsed by the founding organisations, and
records a few batches whose items a newcomer can open from the printed URLs.
Later runs reuse what is there (the read model is SQLite beside the ledgers).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence

import requests

from apps.traceability.consumer import ScanCommitter
from apps.traceability.epcis import SensorReading, event_from_fields, to_document
from apps.traceability.identifiers import Gln, Gtin, Sgtin, sgtin_epc_uri
from apps.traceability.service import Party, TraceConfig, TraceService
from apps.traceability.store import Batch, Code, Product, TraceStore
from apps.traceability.web import TraceUser
from chain.sdk import Client, PrivateKey, load_key
from chain.sdk.onboarding import ensure_member_role, onboard
from web.app import create_app
from web.iot_demo import start_iot
from web.serving import ServedWeb, free_port, serve

log = logging.getLogger(__name__)

WEB_PORT = 8000
BRAND_A, BRAND_B, CARRIER, SHOP, SCANS = "brand-a", "brand-b", "swift-logistics", "fresh-mart", "consumer-service"
PARTIES = {
    BRAND_A: Party(BRAND_A, "Brand A Tea Co.", "0614141000005", "brand"),
    BRAND_B: Party(BRAND_B, "Brand B Foods", "0690123000003", "brand"),
    CARRIER: Party(CARRIER, "Swift Logistics", "0950600000002", "logistics"),
    SHOP: Party(SHOP, "Fresh Mart", "0950601000001", "retailer"),
    SCANS: Party(SCANS, "Consumer scan service", "0950602000000", "service"),
}
ROLES = {BRAND_A: "brand", BRAND_B: "brand", CARRIER: "logistics", SHOP: "retailer"}
DEMO_PASSWORD = "demo"
TEA, CASE, LEAVES, OOLONG = "00614141107346", "10614141107343", "00614141000012", "00690123456787"
PALLET = "106141410000000019"


@dataclass(frozen=True)
class DemoItems:
    """Codes a newcomer can open: one in the shop, one sold, one of a recalled batch, and a forged one."""

    in_shop: Code
    sold: Code
    recalled: Code
    forged_path: str


def trace_front_end(directory: Path, password: bytes) -> Callable[[str, Callable[[str], None]], ServedWeb]:
    """A front end for chain.node.demo: the explorer and the traceability pages on one web app."""

    def start(gateway_url: str, say: Callable[[str], None]) -> ServedWeb:
        port = free_port(WEB_PORT)
        service = build_service(directory, password, gateway_url, f"127.0.0.1:{port}")
        items = seed(service, directory, password)
        users = [TraceUser.create(org, org, role, DEMO_PASSWORD) for org, role in ROLES.items()]
        users.append(TraceUser.create("regulator", SCANS, "regulator", DEMO_PASSWORD))
        served = serve(create_app(gateway_url, "main", trace=service, trace_users=users), port, "/explorer/")
        ScanCommitter(service).start()  # each finished hour of consumer scans is committed on chain
        home = requests.get(f"{served.url}/explorer/", timeout=30)
        say(f"   explorer     {served.url}/explorer/ (the web front end, through the gateway): home page {home.status_code}")
        say("== traceability: two brands, a logistics firm and a retailer record EPCIS events, each signed with its own key")
        for label, code in (("in the shop", items.in_shop), ("sold", items.sold), ("recalled batch", items.recalled)):
            say(f"   item {label:<15} {served.url}/01/{code.gtin}/10/{code.lot}/21/{code.serial}")
        say(f"   forged code          {served.url}{items.forged_path}")
        say(f"   consoles     {served.url}/console/ (users {', '.join(ROLES)}, regulator; password {DEMO_PASSWORD!r})")
        iot = start_iot(service, directory, password, gateway_url, admin_client(directory, password, gateway_url),
                        CARRIER, BRAND_A, TEA, say)
        if iot is not None:
            served.cleanups.append(iot.stop)
        return served

    return start


def admin_keys_of(directory: Path, password: bytes) -> list[PrivateKey]:
    """The founding organisations' admin keys of a `chain net init` consortium."""
    homes = sorted(p for p in directory.iterdir() if p.is_dir() and p.name.startswith("node"))
    return [load_key(path, password) for path in sorted((homes[0] / "keys").glob("admin*.key"))]


def admin_client(directory: Path, password: bytes, gateway_url: str) -> Client:
    """The consortium operator's client (the first founding organisation's admin)."""
    return Client(gateway_url, "main", key=admin_keys_of(directory, password)[0])


def build_service(directory: Path, password: bytes, gateway_url: str, resolver: str,
                  database_url: str | None = None) -> TraceService:
    """The traceability service of a `chain net init` consortium: organisations admitted, contract deployed."""
    admin_keys = admin_keys_of(directory, password)
    admin = Client(gateway_url, "main", key=admin_keys[0])
    store = TraceStore(database_url or f"sqlite:///{directory / 'traceability.db'}")
    service = TraceService(TraceConfig(gateway_url, "main", resolver=resolver, scheme="http", parties=PARTIES,
                                       keys={}, scan_service=SCANS), store)
    service.deploy(admin_keys)  # before new members join: the founding organisations' majority endorses it
    ensure_member_role(admin)
    keys: dict[str, PrivateKey] = {}
    for org in PARTIES:
        keys[org] = onboard(admin, directory / "ca", password, org, directory / "trace-keys" / f"{org}.key", password)
    service.config.keys = keys
    if service.store.get(Product, TEA) is None:
        service.assign_prefix(admin, "0614141", BRAND_A)
        service.assign_prefix(admin, "0690123", BRAND_B)
    return service


def seed(service: TraceService, directory: Path, password: bytes) -> DemoItems:
    """Demo products, batches and item histories (recorded once)."""
    store = service.store
    service.sync()
    if store.get(Batch, TEA, "L2611") is None:
        _record_histories(service)
    tea = store.codes(TEA, "L2611", limit=8)
    recalled = store.codes(OOLONG, "OL-6", limit=1)[0]
    return DemoItems(in_shop=tea[1], sold=tea[0], recalled=recalled, forged_path=f"/01/{TEA}/10/L2611/21/FAKE00000001")


def _record_histories(service: TraceService) -> None:
    add = service.register_product
    add(BRAND_A, TEA, "0614141", "Green tea 250 g")
    add(BRAND_A, CASE, "0614141", "Green tea, case of 12")
    add(BRAND_A, LEAVES, "0614141", "Tea leaves, raw")
    add(BRAND_B, OOLONG, "0690123", "Oolong 100 g")
    service.issue_batch(BRAND_A, LEAVES, "LEAF-2611", 0)
    service.issue_batch(BRAND_A, TEA, "L2611", 200, "281130")
    service.issue_batch(BRAND_B, OOLONG, "OL-7", 100, "271231")
    service.issue_batch(BRAND_B, OOLONG, "OL-6", 20, "270630")
    service.recall(BRAND_B, OOLONG, "OL-6", "moisture found in sealed packs; do not consume")
    tea = service.store.codes(TEA, "L2611", limit=6)
    items = [_sgtin(c) for c in tea]
    pallet = "urn:epc:id:sscc:0614141.1000000001"
    factory, hub, shop = Gln.parse("0614141000012"[:12] + "2"), Gln.parse("0950600000002"), Gln.parse("0950601000001")
    start = datetime(2026, 11, 20, 8, 0, tzinfo=timezone(timedelta(hours=8)))

    def at(hours: int) -> datetime:
        return start + timedelta(hours=hours)

    service.capture(BRAND_A, to_document([
        event_from_fields("TransformationEvent", event_time=at(0), input_epcs=["urn:epc:class:lgtin:0614141.000001.LEAF-2611"],
                          output_epcs=items, biz_step="commissioning", read_point=factory),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(2), epcs=items, biz_step="inspecting",
                          disposition="active", read_point=factory),
        event_from_fields("AggregationEvent", action="ADD", event_time=at(3), parent_id=pallet, child_epcs=items,
                          biz_step="packing", read_point=factory),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(4), epcs=[pallet], biz_step="shipping",
                          disposition="in_transit", read_point=factory,
                          destinations=[("owning_party", Gln.parse(PARTIES[CARRIER].gln))]),
    ]))
    service.capture(CARRIER, to_document([
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(6), epcs=[pallet], biz_step="receiving",
                          read_point=hub, sensor_readings=[SensorReading("Temperature", "4.2", "CEL"),
                                                           SensorReading("Temperature", "5.1", "CEL")]),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(20), epcs=[pallet], biz_step="shipping",
                          read_point=hub, destinations=[("owning_party", Gln.parse(PARTIES[SHOP].gln))],
                          sensor_readings=[SensorReading("Temperature", "6.3", "CEL")]),
    ]))
    service.capture(SHOP, to_document([
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(26), epcs=[pallet], biz_step="receiving",
                          read_point=shop),
        event_from_fields("AggregationEvent", action="DELETE", event_time=at(27), parent_id=pallet, child_epcs=[],
                          biz_step="unpacking", read_point=shop),
        event_from_fields("ObjectEvent", action="OBSERVE", event_time=at(50), epcs=[items[0]], biz_step="retail_selling",
                          disposition="retail_sold", read_point=shop),
    ]))


def _sgtin(code: Code) -> str:
    """The EPC URI of a demo item (company prefix length 7)."""
    return sgtin_epc_uri(Sgtin(Gtin.parse(code.gtin), code.serial), 7)


__all__: Sequence[str] = ("trace_front_end", "build_service", "seed")

"""Traceability end to end on a local 4-validator consortium: a million item codes issued and committed, then the
consumer page under load with those items on chain.

python -m bench.traceability [--items 1000000] [--batch 100000] [--clients 50] [--seconds 20] [--database URL]

1. `issue`: the brand's service issues --items codes in lots of --batch
   (serials, salted PIN hashes, the lot's Merkle tree, the codes stored in the
   read model, the root committed on chain through the gateway and the read
   model synced): wall-clock seconds for all of it. Target: 1,000,000 in 60 s.
2. `histories`: a few hundred items get a real journey (packed on pallets,
   shipped, received, some sold), so pages show timelines, not just issuance.
3. `page`: --clients concurrent consumers (separate processes, keep-alive)
   open random item pages for --seconds; the server-side time of each page is
   read from its Server-Timing header (what the web app spent, queueing for a
   worker thread excluded). Target: p95 <= 50 ms with 10^6 items on chain.
Output: JSON lines on stdout (bench/report.py), progress on stderr.
"""
from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from apps.traceability.epcis import event_from_fields, to_document
from apps.traceability.identifiers import Gln
from bench.consensus import Network
from bench.gateway import start_gateway
from bench.report import emit, log
from web.app import create_app
from web.serving import serve
from web.trace_demo import BRAND_A, CARRIER, PARTIES, SHOP, TEA, build_service

TARGET_ISSUE_S = 60.0
TARGET_P95_MS = 50.0


def issue(service: Any, items: int, batch: int) -> list[str]:
    """Issue and commit `items` codes in lots of `batch`; the lots."""
    service.register_product(BRAND_A, TEA, "0614141", "Green tea 250 g")
    lots = []
    start = time.perf_counter()
    for number, first in enumerate(range(0, items, batch), 1):
        lot = f"B{number:05d}"
        service.issue_batch(BRAND_A, TEA, lot, min(batch, items - first), "301231")
        lots.append(lot)
        log(f"  {first + min(batch, items - first):,} codes committed after {time.perf_counter() - start:.1f} s")
    took = time.perf_counter() - start
    emit("traceability", "issue_committed_s", took, items=items, batch=batch, target_s=TARGET_ISSUE_S,
         met=took <= TARGET_ISSUE_S)
    emit("traceability", "issue_items_per_s", items / took, items=items)
    return lots


def histories(service: Any, lots: list[str], pallets: int = 10, per_pallet: int = 40) -> int:
    """Journeys for pallets x per_pallet items of the first lot: pack, ship, receive (with readings), sell some."""
    codes = service.store.codes(TEA, lots[0], limit=pallets * per_pallet)
    factory, hub = Gln.parse("0614141000029"), Gln.parse(PARTIES[CARRIER].gln)
    start = time.perf_counter()
    for p in range(pallets):
        items = [f"urn:epc:id:sgtin:0614141.0{c.gtin[8:13]}.{c.serial}" for c in codes[p * per_pallet:(p + 1) * per_pallet]]
        pallet = f"urn:epc:id:sscc:0614141.1{p + 2:09d}"
        service.capture(BRAND_A, to_document([
            event_from_fields("AggregationEvent", action="ADD", parent_id=pallet, child_epcs=items, biz_step="packing",
                              read_point=factory),
            event_from_fields("ObjectEvent", action="OBSERVE", epcs=[pallet], biz_step="shipping", read_point=factory,
                              destinations=[("owning_party", Gln.parse(PARTIES[CARRIER].gln))])]))
        service.capture(CARRIER, to_document([
            event_from_fields("ObjectEvent", action="OBSERVE", epcs=[pallet], biz_step="receiving", read_point=hub),
            event_from_fields("ObjectEvent", action="OBSERVE", epcs=[pallet], biz_step="shipping", read_point=hub,
                              destinations=[("owning_party", Gln.parse(PARTIES[SHOP].gln))])]))
        service.capture(SHOP, to_document([
            event_from_fields("ObjectEvent", action="OBSERVE", epcs=[pallet], biz_step="receiving"),
            event_from_fields("AggregationEvent", action="DELETE", parent_id=pallet, child_epcs=[], biz_step="unpacking"),
            event_from_fields("ObjectEvent", action="OBSERVE", epcs=items[:5], biz_step="retail_selling")]))
    emit("traceability", "histories_s", time.perf_counter() - start, items=pallets * per_pallet, documents=3 * pallets)
    return pallets * per_pallet


def _client(url: str, paths: list[str], threads: int, seconds: float, out: Any) -> None:
    """Keep-alive consumers in one process; each page's Server-Timing duration goes to `out`."""
    durations: list[float] = []
    wall: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(seed: int) -> None:
        session = requests.Session()
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            began = time.perf_counter()
            response = session.get(url + rng.choice(paths), timeout=30)
            took = (time.perf_counter() - began) * 1000
            timing = response.headers.get("Server-Timing", "")
            with lock:
                if response.status_code != 200 or "dur=" not in timing:
                    errors[0] += 1
                else:
                    durations.append(float(timing.split("dur=")[1]))
                    wall.append(took)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((durations, wall, errors[0]))


def page_load(url: str, paths: list[str], clients: int, seconds: float, processes: int = 5) -> None:
    """`clients` concurrent consumers for `seconds`; p50/p95/p99 of the server-side page time."""
    queue: Any = multiprocessing.get_context("spawn").Queue()
    share = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [multiprocessing.get_context("spawn").Process(target=_client, args=(url, paths, n, seconds, queue))
             for n in share if n]
    for p in procs:
        p.start()
    durations: list[float] = []
    wall: list[float] = []
    errors = 0
    for _ in procs:
        d, w, e = queue.get()
        durations += d
        wall += w
        errors += e
    for p in procs:
        p.join()
    durations.sort()
    wall.sort()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")

    p95 = pct(durations, 0.95)
    emit("traceability", "page_server_p95_ms", p95, clients=clients, pages=len(durations), errors=errors,
         p50_ms=round(pct(durations, 0.5), 1), p99_ms=round(pct(durations, 0.99), 1),
         mean_ms=round(statistics.fmean(durations), 1) if durations else None, target_ms=TARGET_P95_MS,
         met=p95 <= TARGET_P95_MS)
    emit("traceability", "page_client_p95_ms", pct(wall, 0.95), clients=clients,
         pages_per_s=round(len(wall) / seconds, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=4, help="the web app's worker threads (one process)")
    parser.add_argument("--database", default=None, help="read model URL (default: SQLite beside the ledgers)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as tmp:
        directory = Path(tmp) / "net"
        log("starting 4 validators and the gateway")
        net = Network(directory, 4, "classic")
        gateway, url = start_gateway(net)
        served = None
        try:
            service = build_service(directory, b"bench", url, "127.0.0.1:1", args.database)
            lots = issue(service, args.items, args.batch)
            histories(service, lots)
            served = serve(create_app(url, "main", trace=service), 0, "/", threads=args.threads)
            service.config.resolver = served.url.split("//", 1)[1]
            sample = service.store.codes(TEA, lots[0], limit=400)
            sample += [c for lot in lots for c in service.store.codes(TEA, lot, limit=200, offset=1000)]
            paths = [f"/01/{c.gtin}/10/{c.lot}/21/{c.serial}" for c in sample]
            for path in paths[:20]:
                requests.get(served.url + path, timeout=30)  # warm the read model's caches
            log(f"{args.clients} consumers for {args.seconds:.0f} s over {len(paths)} items ({args.items:,} on chain)")
            page_load(served.url, paths, args.clients, args.seconds)
        finally:
            if served is not None:
                served.stop()
            gateway.terminate()
            net.stop()


if __name__ == "__main__":
    main()

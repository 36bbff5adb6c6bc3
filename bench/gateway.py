"""Gateway benchmark: submissions and reads over HTTP keep-alive through `chain gateway run` on a 4-validator consortium.

python -m bench.gateway [--suite classic] [--seconds 30] [--batch 100] [--readers 100] [--think-ms 0]

1. Start a fresh n-validator consortium as processes (as bench.consensus does) and a gateway process in front of
   all its nodes (waitress, 64 threads).
2. Submissions: pre-signed KV writes by 500 users, posted by 4 client processes of 8 threads each (32 keep-alive
   connections),
   (a) one transaction per request, (b) --batch per request; committed tx/s over the window, counted from the
   blocks. Then, if wrk is installed, up to --wrk-transactions more, one per request, posted by wrk over
   --wrk-connections (32) connections for --wrk-seconds (15): the same load without the Python clients' CPU.
3. Reads: --readers concurrent clients (4 processes) each loop over GET block/latest, a transaction with its proof
   and a data entry with its proof, waiting --think-ms between requests; p50/p95/p99 latency and requests/s.
   Then the same mix from wrk with --readers connections, if wrk is installed (apt-get install wrk): the Python
   clients above cost as much CPU as the gateway, and this machine has two cores.
JSON lines as the other benchmarks.
"""
from __future__ import annotations

import argparse
import multiprocessing

import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.consensus import LEDGER, Network, _signers, committed_after
from bench.report import emit, log
from chain.ledger.operations import WriteKV
from chain.ledger.transaction import Transaction

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    """A free loopback port below the kernel's ephemeral range (a port from bind(0) can be taken by a client socket
    before the gateway binds it)."""
    from iot_bridge.local_broker import random_loopback_port

    return random_loopback_port()


def start_gateway(net: Network, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """`chain gateway run` over every node of the network, as its own process."""
    port = _free_port()
    nodes = [arg for c in net.configs for arg in ("--node", f"{c.host}:{c.port}")]
    proc = subprocess.Popen([sys.executable, "-m", "chain.cli.main", "gateway", "run", *nodes, "--port", str(port),
                             "--threads", "64", "--workers", str(workers)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/v1/health", timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start")


def _post_worker(url: str, chunks: list[list[str]], results: Any, threads: int = 8) -> None:
    import threading

    import requests

    accepted = [0] * threads

    def post(k: int) -> None:
        session = requests.Session()
        for chunk in chunks[k::threads]:
            body = {"transaction": chunk[0]} if len(chunk) == 1 else {"transactions": chunk}
            response = session.post(f"{url}/v1/ledgers/{LEDGER}/transactions", json=body, timeout=60)
            accepted[k] += sum(1 for r in response.json()["results"] if r.get("accepted"))

    pool = [threading.Thread(target=post, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(sum(accepted))


def submit_load(net: Network, url: str, txs: list[Transaction], per_request: int, processes: int = 4) -> dict[str, float]:
    """Post all transactions as fast as the gateway takes them; committed tx/s from first post to last commit."""
    encoded = [t.encode().hex() for t in txs]
    chunks = [encoded[i:i + per_request] for i in range(0, len(encoded), per_request)]
    start_height = net.height()
    queue: Any = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_post_worker, args=(url, chunks[k::processes], queue)) for k in range(processes)]
    started = time.monotonic()
    for w in workers:
        w.start()
    accepted = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    posted = time.monotonic() - started
    return _committed(net, txs, start_height, started, accepted, posted)


def _committed(net: Network, txs: list[Transaction], start_height: int, started: float, accepted: int,
               posted: float) -> dict[str, float]:
    """Follow the chain until every accepted transaction is committed (or 120 s pass); committed tx/s since `started`."""
    wanted = {t.hash for t in txs}
    seen = 0
    height = start_height
    last_commit = time.monotonic()
    deadline = time.monotonic() + 120
    with net.client(0) as c:
        while seen < accepted and time.monotonic() < deadline:
            top = int(c.call("wait_height", ledger=LEDGER, height=height + 1, timeout_ms=200)["height"])
            if top > height:
                height, outcomes = committed_after(c, height, top)
                seen += sum(1 for tx_hash, _ in outcomes if tx_hash in wanted)
                last_commit = time.monotonic()
    elapsed = last_commit - started
    return {"offered": len(txs), "accepted": accepted, "committed": seen, "post_seconds": round(posted, 2),
            "seconds": round(elapsed, 2), "committed_per_s": round(seen / elapsed, 1)}


def _read_worker(url: str, paths: list[str], threads: int, seconds: float, think_s: float, results: Any) -> None:
    import threading

    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(offset: int) -> None:
        session = requests.Session()
        mine = []
        i = offset
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            response = session.get(url + paths[i % len(paths)], timeout=30)
            mine.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text[:200]
            i += 1
            if think_s:
                time.sleep(think_s)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(latencies)


def read_load(url: str, paths: list[str], readers: int, seconds: float, think_ms: float, processes: int = 4) -> dict[str, float]:
    """`readers` concurrent keep-alive clients over `processes` processes; latency percentiles."""
    queue: Any = multiprocessing.Queue()
    per = [readers // processes + (1 if k < readers % processes else 0) for k in range(processes)]
    workers = [multiprocessing.Process(target=_read_worker, args=(url, paths, n, seconds, think_ms / 1000, queue))
               for n in per if n]
    for w in workers:
        w.start()
    latencies = sorted(x for _ in workers for x in queue.get())
    for w in workers:
        w.join()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "requests_per_s": round(len(latencies) / seconds, 1), "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "mean_ms": round(statistics.fmean(latencies) * 1000, 2)}


_WRK_POST_SCRIPT = """
local file = io.open("%s")
bodies = {}
for line in file:lines() do bodies[#bodies + 1] = line end
file:close()
threads, index, sent = %d, 0, 0
setup = function(thread)
  thread:set("index", index)
  index = index + 1
end
request = function()
  local i = sent * threads + index + 1
  sent = sent + 1
  if i > #bodies then return wrk.format("GET", "/v1/health") end
  return wrk.format("POST", "%s", {["Content-Type"] = "application/json"}, bodies[i])
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"accepted":%%s*false') then io.write("STATUS " .. status .. " " .. body .. "\\n") end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.errors.status))
end
"""


def submit_load_wrk(net: Network, url: str, txs: list[Transaction], per_request: int, seconds: float,
                    connections: int = 32) -> dict[str, float] | None:
    """The same submissions with wrk (C) as the HTTP client over `connections` keep-alive connections for `seconds`
    (or until the transactions run out: then it asks for /v1/health), so the figure is the gateway's and the
    chain's rather than the Python clients' (None without wrk); committed tx/s from first post to last commit."""
    import json
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    encoded = [t.encode().hex() for t in txs]
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.txt"
        bodies.write_text("".join(
            json.dumps({"transaction": c[0]} if len(c) == 1 else {"transactions": c}) + "\n"
            for c in (encoded[i:i + per_request] for i in range(0, len(encoded), per_request))))
        script = Path(tmp) / "post.lua"
        threads = 2
        script.write_text(_WRK_POST_SCRIPT % (bodies, threads, f"/v1/ledgers/{LEDGER}/transactions"))
        start_height = net.height()
        started = time.monotonic()
        done = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "60s", "-s", str(script),
                               url], capture_output=True, text=True, timeout=seconds + 120)
        posted = time.monotonic() - started
    refused = [line for line in done.stdout.splitlines() if line.startswith("STATUS")]
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT")), None)
    if refused or line is None:
        raise RuntimeError((refused[:3], done.stdout[-2000:], done.stderr[-2000:]))
    answered = int(line.split()[1])
    result = _committed(net, txs, start_height, started, min(len(txs), answered * per_request), posted)
    result["generator"] = "wrk"  # type: ignore[assignment]
    return result


_WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
%s
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.errors.status))
end
"""


def read_load_wrk(url: str, paths: list[str], connections: int, seconds: float, think_ms: float = 0) -> dict[str, float] | None:
    """The same read mix with wrk (C, epoll) as the load generator, so the clients cost almost no CPU; None without wrk."""
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        pause = f"delay = function() return {int(think_ms)} end" if think_ms else ""
        script.write(_WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), pause))
    done = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{int(seconds)}s", "-s", script.name, url],
                          capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(done.stdout + done.stderr)
    requests_, duration_us, p50, p95, p99, bad = (int(x) for x in line.split()[1:])
    return {"requests": requests_, "requests_per_s": round(requests_ / (duration_us / 1e6), 1), "p50_ms": p50 / 1000,
            "p95_ms": p95 / 1000, "p99_ms": p99 / 1000, "non_2xx": bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=["classic", "sm"], default="classic")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--transactions", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--think-ms", type=float, default=0)
    parser.add_argument("--signers", type=int, default=500)
    parser.add_argument("--gateway-workers", type=int, default=1, help="gateway processes sharing the port")
    parser.add_argument("--wrk-transactions", type=int, default=20_000,
                        help="then submit up to this many again, one per request, with wrk as the client (0: skip)")
    parser.add_argument("--wrk-seconds", type=float, default=15, help="how long wrk posts")
    parser.add_argument("--wrk-connections", type=int, default=32, help="wrk's keep-alive connections when posting")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        net = Network(Path(tmp) / "net", args.nodes, args.suite)
        gateway = None
        try:
            keys = _signers(net, args.signers)
            gateway, url = start_gateway(net, args.gateway_workers)
            expiry = net.height() + 900
            log(f"pre-signing {2 * args.transactions} transactions")
            txs = [net.tx([WriteKV("bench", f"k{i}", b"v%d" % i, None)], keys[i % len(keys)], expiry)
                   for i in range(2 * args.transactions)]
            for label, per_request, part in (("single", 1, txs[:args.transactions]), ("batch", args.batch, txs[args.transactions:])):
                log(f"submitting {len(part)} transactions, {per_request} per request")
                result = submit_load(net, url, part, per_request)
                emit("gateway", f"{args.suite}/n{args.nodes}/submit_{label}", result["committed_per_s"], unit="tx/s",
                     per_request=per_request, **result)
            if args.wrk_transactions:
                expiry = net.height() + 900
                more = [net.tx([WriteKV("bench", f"w{i}", b"v%d" % i, None)], keys[i % len(keys)], expiry)
                        for i in range(args.wrk_transactions)]
                log(f"submitting up to {len(more)} transactions, 1 per request, with wrk for {args.wrk_seconds:.0f} s")
                fast = submit_load_wrk(net, url, more, 1, args.wrk_seconds, args.wrk_connections)
                if fast is not None:
                    emit("gateway", f"{args.suite}/n{args.nodes}/submit_single_wrk", fast["committed_per_s"], unit="tx/s",
                         per_request=1, connections=args.wrk_connections, **fast)
            with net.client(0) as c:
                block = c.call("block", ledger=LEDGER, height=net.height())
            tx_hash = block["receipts"][0]["tx_hash"].hex() if block["receipts"] else None
            paths = [f"/v1/ledgers/{LEDGER}/blocks/latest", f"/v1/ledgers/{LEDGER}/accounts/bench/entries/k1"]
            if tx_hash:
                paths.append(f"/v1/ledgers/{LEDGER}/transactions/{tx_hash}")
            time.sleep(5)  # let the validators finish the submission load before measuring reads
            log(f"reads: {args.readers} clients for {args.seconds:.0f} s, think {args.think_ms:.0f} ms")
            result = read_load(url, paths, args.readers, args.seconds, args.think_ms)
            emit("gateway", f"{args.suite}/n{args.nodes}/reads_{args.readers}_clients", result["p95_ms"], unit="ms p95",
                 think_ms=args.think_ms, generator="python", **result)
            for think in sorted({0.0, args.think_ms, 200.0, 1000.0}):
                fast = read_load_wrk(url, paths, args.readers, args.seconds, think)
                if fast is None:
                    break
                emit("gateway", f"{args.suite}/n{args.nodes}/reads_{args.readers}_connections_wrk_think_{int(think)}ms",
                     fast["p95_ms"], unit="ms p95", generator="wrk", think_ms=think, workers=args.gateway_workers, **fast)
        finally:
            if gateway is not None:
                gateway.send_signal(signal.SIGTERM)
                gateway.wait(timeout=30)
            net.stop()



if __name__ == "__main__":
    main()

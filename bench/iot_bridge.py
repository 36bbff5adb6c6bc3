"""IoT bridge end to end on a local consortium: simulated devices -> Mosquitto -> the bridge -> committed on chain.

python -m bench.iot_bridge [--devices 50] [--rate 2000] [--seconds 20] [--validators 4] [--publishers 4]

1. `chain net init` + `up` a fresh --validators network and the gateway (separate processes, 127.0.0.1); a CA,
   one organisation onboarded, the device log contract deployed, --devices device certificates (ECDSA P-256)
   issued and registered on chain.
2. A private Mosquitto on a free port below 32768 (max_queued_messages 1000000, max_inflight_messages 1000).
3. The real bridge, `python -m iot_bridge run`, in its own process, with the device log mapper.
4. --publishers processes publish pre-signed messages (iot_bridge.simulator.publish_presigned) of every device at
   --rate messages/s in total, for --seconds.
5. The bench polls the bridge's outbox (SQLite, read only) to see when each event is committed; latency is from
   the event's received_at (the bridge's receive time: publish time on one host, to a few ms) to the moment the
   poll first sees it committed (so it includes up to one poll interval).
6. Afterwards every published event must be on chain exactly once: each device's entry count in the contract
   storage (state proofs checked by the SDK) and the contract's Logged events per (device, seq).
Output: one JSON line on stdout, progress on stderr.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.consensus import LEDGER, Network
from bench.gateway import start_gateway
from bench.report import log

REPO = Path(__file__).resolve().parent.parent
ORG = "acme"
PASSWORD = b"bench"
MOSQUITTO = "/usr/sbin/mosquitto"


def free_low_port() -> int:
    """A free loopback port below 32768 (outside the ephemeral range)."""
    import random
    import socket
    for _ in range(500):
        port = random.randint(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


def wait_port(port: int, timeout: float = 15.0) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def start_mosquitto(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_low_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 1000\nlog_type error\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=open(directory / "mosquitto.log", "wb"))
    wait_port(port)
    return proc, port


def setup_chain(net: Network, url: str, directory: Path, devices: int) -> tuple[Any, Path, list[tuple[str, bytes]]]:
    """CA + organisation + contract + devices on chain; (admin client, org key file, [(address, key scalar)])."""
    from chain.ca import CAStore, parse_certificates
    from chain.ledger.permissions import RolePolicy
    from chain.sdk import Client
    from chain.sdk.onboarding import ensure_member_role, onboard, trust_root
    from chain.sdk.operations import ContractPolicy, RegisterUser
    from iot_bridge.contract import deploy
    from iot_bridge.message import device_address

    admin = Client(url, LEDGER, key=net.admin, timeout_s=60)
    ca_dir = directory / "ca"
    CAStore.init(ca_dir, suite="classic", consortium="iot-bench", password=PASSWORD, scrypt_n=2**10)
    trust_root(admin, ca_dir)
    ensure_member_role(admin)
    key_file = directory / "keys" / f"{ORG}.key"
    onboard(admin, ca_dir, PASSWORD, ORG, key_file, PASSWORD)
    deploy(admin, policy=ContractPolicy(1, (admin.user(admin.address)["participant"],)))
    store = CAStore.open(ca_dir)
    out: list[tuple[str, bytes]] = []
    ops = []
    for i in range(devices):
        key = admin.suite.generate_keypair().private
        record = store.issue(ORG, "device", f"bench-device-{i}", ca_password=PASSWORD, public_key=key.public_key())
        ops.append(RegisterUser(parse_certificates((ca_dir / record.cert_file).read_bytes())[0].der, ("MEMBER",),
                                RolePolicy.UNION))
        out.append((device_address(key), key.encode()))
        if len(ops) == 50 or i == devices - 1:
            outcome = admin.send(ops)
            assert outcome["receipt"]["code_name"] == "SUCCESS", outcome
            ops = []
    return admin, key_file, out


def _publisher(port: int, devices: list[tuple[str, bytes]], count: int, rate: float, ready: Any, go: Any,
               results: Any) -> None:
    """One process: sign `count` messages per device, wait for `go`, publish each device's at `rate`/s."""
    import threading

    from chain.crypto import PrivateKey
    from iot_bridge.simulator import DevicePublisher, SimDevice, publish_presigned, sign_messages

    work = []
    for address, scalar in devices:
        key = PrivateKey.decode(scalar)
        sim = SimDevice(key, ORG)
        assert sim.address == address
        work.append((address, sign_messages(sim, list(range(1, count + 1)), "cold-chain")))
    publishers = []
    for address, _ in work:
        pub = DevicePublisher(ORG, address, port=port, client_id=f"bench-{address}")
        pub.connect()
        publishers.append(pub)
    ready.put(len(work))
    go.wait()
    reports: list[dict[str, Any]] = []

    def one(pub: Any, messages: list[tuple[int, bytes]]) -> None:
        reports.append(publish_presigned(pub, messages, rate=rate, wait_s=120).as_dict())

    threads = [threading.Thread(target=one, args=(pub, msgs)) for pub, (_, msgs) in zip(publishers, work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for pub in publishers:
        pub.close()
    results.put(reports)


def write_bridge_config(directory: Path, port: int, url: str, key_file: Path, http_port: int) -> Path:
    config = directory / "bridge.toml"
    config.write_text(f"""[broker]
host = "127.0.0.1"
port = {port}
client_id = "bench-bridge"
receive_maximum = 1000

[outbox]
path = "{directory / 'outbox.sqlite'}"

[gateway]
url = "{url}"
ledger = "{LEDGER}"

[organisations.{ORG}]
key_file = "{key_file}"
password_env = "BENCH_ORG_KEY_PASSWORD"

[mapper]
spec = "iot_bridge.device_log_mapper:DeviceLogMapper"

[batch]
intake_max = 1000
drain_max = 5000

[http]
listen = "127.0.0.1:{http_port}"

[log]
level = "WARNING"
""")
    return config


class CommitWatch:
    """Polls the outbox: when each (device, seq) was first seen committed, and its received_at."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        self.seen: dict[tuple[str, int], tuple[int, int]] = {}  # key -> (received_at ms, seen committed ms)
        self.status: Counter[str] = Counter()

    def poll(self) -> None:
        if self.db is None:
            if not self.path.exists():
                return
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        now = time.time_ns() // 1_000_000
        rows = self.db.execute("SELECT device, seq, received_at FROM events WHERE status = 'committed'").fetchall()
        for device, seq, received in rows:
            if (device, seq) not in self.seen:
                self.seen[(device, seq)] = (received, now)
        self.status = Counter(dict(self.db.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall()))


def pct(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(len(values) * q))], 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2000, help="messages per second offered, all devices together")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--publishers", type=int, default=4, help="publishing processes")
    parser.add_argument("--poll-ms", type=int, default=50)
    args = parser.parse_args()
    per_device = max(1, int(args.rate * args.seconds / args.devices))
    device_rate = args.rate / args.devices
    with tempfile.TemporaryDirectory(prefix="bench-iot-") as tmp:
        directory = Path(tmp)
        log(f"starting {args.validators} validators and the gateway")
        net = Network(directory / "net", args.validators, "classic")
        gateway, url = start_gateway(net)
        broker = bridge = None
        procs: list[Any] = []
        try:
            log(f"onboarding the organisation, deploying the device log, registering {args.devices} devices")
            admin, key_file, devices = setup_chain(net, url, directory, args.devices)
            start_height = int(admin.status()["height"])
            broker, port = start_mosquitto(directory)
            http_port = free_low_port()
            config = write_bridge_config(directory, port, url, key_file, http_port)
            env = {**os.environ, "BENCH_ORG_KEY_PASSWORD": PASSWORD.decode()}
            bridge = subprocess.Popen([sys.executable, "-m", "iot_bridge", "--config", str(config), "run"], cwd=REPO,
                                      env=env, stdout=subprocess.DEVNULL, stderr=open(directory / "bridge.log", "wb"))
            wait_port(http_port)
            ctx = multiprocessing.get_context("spawn")
            ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            shares = [devices[i::args.publishers] for i in range(args.publishers) if devices[i::args.publishers]]
            log(f"signing {per_device * args.devices:,} messages in {len(shares)} processes; the bridge on "
                f"broker port {port}")
            procs = [ctx.Process(target=_publisher, args=(port, share, per_device, device_rate, ready, go, results))
                     for share in shares]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=600)
            time.sleep(2)  # the bridge's session and subscriptions settle
            watch = CommitWatch(directory / "outbox.sqlite")
            total = per_device * len(devices)
            log(f"publishing {total:,} events at {args.rate:,.0f}/s for ~{args.seconds:.0f} s")
            started_ms = time.time_ns() // 1_000_000
            go.set()
            deadline = time.monotonic() + args.seconds + 180
            while len(watch.seen) < total and time.monotonic() < deadline:
                time.sleep(args.poll_ms / 1000)
                watch.poll()
            finished_ms = max((c for _, c in watch.seen.values()), default=started_ms)
            reports = [r for _ in procs for r in results.get(timeout=300)]
            for p in procs:
                p.join(30)
            log(f"outbox: {dict(watch.status)}; publisher answers: {sum(r['accepted'] for r in reports)} accepted, "
                f"{sum(r['missing'] for r in reports)} missing")
            # exactly once on chain
            committed_on_chain = 0
            for address, _ in devices:
                info = admin.contract_value("device_log", "devices", address) or {}
                committed_on_chain += int(info.get("count", 0))
            logged: Counter[tuple[str, int]] = Counter()
            addresses = {a for a, _ in devices}
            for _, item in admin.events(start_height, types=("event",), account="contract:device_log"):
                if item["topic"] == "Logged" and item["fields"]["device"] in addresses:
                    logged[(item["fields"]["device"], item["fields"]["seq"])] += 1
            expected = {(a, s) for a in addresses for s in range(1, per_device + 1)}
            lost = len(expected - set(logged))
            duplicates = sum(n - 1 for n in logged.values())
            latencies = sorted(float(c - r) for r, c in watch.seen.values())
            seconds = (finished_ms - started_ms) / 1000
            received_s = (max((r for r, _ in watch.seen.values()), default=started_ms) - started_ms) / 1000
            print(json.dumps({
                "bench": "iot_bridge", "validators": args.validators, "devices": args.devices, "events": total,
                "offered_per_s": args.rate, "committed_per_s": round(len(watch.seen) / seconds, 1) if seconds else 0,
                "latency_p50_ms": pct(latencies, 0.5), "latency_p99_ms": pct(latencies, 0.99),
                "lost": lost, "duplicates_on_chain": duplicates, "on_chain_count": committed_on_chain,
                "received_per_s": round(len(watch.seen) / received_s, 1) if received_s > 0 else None,
                "seconds": round(seconds, 2), "target_per_s": 2000,
                "met": lost == 0 and duplicates == 0 and seconds > 0 and len(watch.seen) / seconds >= 2000,
            }), flush=True)
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
            if bridge is not None:
                bridge.terminate()
                try:
                    bridge.wait(20)
                except subprocess.TimeoutExpired:
                    bridge.kill()
            if broker is not None:
                broker.terminate()
                broker.wait(10)
            gateway.terminate()
            net.stop()


if __name__ == "__main__":
    main()

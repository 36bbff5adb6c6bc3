"""IoT bridge end to end on a local consortium: simulated devices -> Mosquitto -> the bridge -> committed on chain.

python -m bench.iot_bridge [--devices 50] [--rate 2000] [--seconds 20] [--validators 4] [--publishers 2]
    [--publisher raw|paho] [--drain-max 5000] [--in-flight 4] [--poll-ms 100]

1. `chain net init` + `up` a fresh --validators network and the gateway (separate processes, 127.0.0.1); a CA,
   one organisation onboarded, the device log contract deployed, --devices device certificates (ECDSA P-256)
   issued and registered on chain.
2. A private Mosquitto on a free port below 32768 (max_queued_messages 1000000, max_inflight_messages 20000).
3. The real bridge, `python -m iot_bridge run`, in its own process, with the device log mapper.
4. --publishers processes (2) publish pre-signed messages of every device at --rate messages/s in total, for
   --seconds: by default (--publisher raw) as pre-encoded MQTT 5 QoS 1 PUBLISH packets (ResponseTopic +
   CorrelationData, as the simulator sends), one connection per device, one thread per process, so the load costs
   little CPU; --publisher paho uses iot_bridge.simulator.publish_presigned (a paho client and thread per device,
   which took ~0.6 CPU cores at 2,000 msg/s). published_per_s says what they managed to offer.
5. The bench polls the bridge's outbox (SQLite, read only) to see when each event is committed. latency_p50/p99_ms
   run from the moment the raw publisher sent the event (wall clock, one host) to the moment the poll first sees it
   committed (so they include up to one poll interval); receipt_to_commit_* from the bridge's received_at instead
   (the only start the paho publisher gives: then latency_from says "bridge_receipt").
6. Afterwards every published event must be on chain exactly once: each device's entry count in the contract
   storage (state proofs checked by the SDK) and the contract's LoggedRun events, expanded per (device, seq).
Output: one JSON line on stdout, progress on stderr; cpu_ms_per_event is the CPU time (user + system, the processes
and their children) each role used between the start of publishing and the last commit, per event, and machine_busy
the share of both cores busy meanwhile (anything else running on the machine included).
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
from iot_bridge.contract import logged_runs
from iot_bridge.local_broker import LocalBroker, random_loopback_port

REPO = Path(__file__).resolve().parent.parent
ORG = "acme"
PASSWORD = b"bench"


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


# --- a lean MQTT 5 publisher for the load (paho costs more CPU per message than the bridge does) ---------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_str(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def mqtt_connect(client_id: str) -> bytes:
    """CONNECT, MQTT 5, clean start, no keep-alive (the load never idles), no properties."""
    return _packet(0x10, _mqtt_str("MQTT") + bytes([5, 0x02]) + (0).to_bytes(2, "big") + _varint(0)
                   + _mqtt_str(client_id))


def mqtt_subscribe(packet_id: int, topic: str) -> bytes:
    """SUBSCRIBE at QoS 0 (the bridge answers at QoS 0 by default)."""
    return _packet(0x82, packet_id.to_bytes(2, "big") + _varint(0) + _mqtt_str(topic) + bytes([0]))


def mqtt_publish_qos1(topic: str, packet_id: int, payload: bytes, response_topic: str, correlation: bytes) -> bytes:
    """PUBLISH QoS 1 with the ResponseTopic and CorrelationData properties (as iot_bridge.simulator sends)."""
    props = b"\x08" + _mqtt_str(response_topic) + b"\x09" + _mqtt_str(correlation)
    return _packet(0x32, _mqtt_str(topic) + packet_id.to_bytes(2, "big") + _varint(len(props)) + props + payload)


class _Conn:
    """One device's connection: pre-encoded PUBLISH packets, how many are sent, acknowledged and answered."""

    def __init__(self, port: int, client_id: str, topic: str, acks: str, messages: list[tuple[int, bytes]]) -> None:
        import socket
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.packets = [mqtt_publish_qos1(topic, (i % 65535) + 1, payload, acks, f"{seq}.1".encode())
                        for i, (seq, payload) in enumerate(messages)]
        self.buf = b""
        self.sent = self.pubacks = 0
        self.sent_ms: list[int] = []  # wall-clock ms each message went out (index seq - 1)
        self.answers: Counter[str] = Counter()
        self.bad_pubacks = 0
        self.sock.sendall(mqtt_connect(client_id))
        self._expect(0x20)
        self.sock.sendall(mqtt_subscribe(1, acks))
        self._expect(0x90)

    def _expect(self, kind: int) -> None:
        while True:
            packets = self.read()
            if any(p[0] & 0xF0 == kind for p in packets):
                return

    def read(self) -> list[bytes]:
        """Whole packets received (first byte + body); blocks for at least one recv."""
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the broker closed the connection")
        self.buf += data
        out = []
        buf, pos = self.buf, 0
        while len(buf) - pos >= 2:
            length, mult, i, complete = 0, 1, pos + 1, False
            while i < len(buf) and i < pos + 5:
                byte = buf[i]
                i += 1
                length += (byte & 0x7F) * mult
                mult <<= 7
                if not byte & 0x80:
                    complete = True
                    break
            if not complete or len(buf) - i < length:
                break
            out.append(buf[pos:pos + 1] + buf[i:i + length])
            pos = i + length
        self.buf = buf[pos:]
        return out

    def handle(self, packets: list[bytes]) -> None:
        for p in packets:
            kind = p[0] & 0xF0
            if kind == 0x40:  # PUBACK: id, [reason code, properties]
                self.pubacks += 1
                if len(p) > 3 and p[3] >= 0x80:
                    self.bad_pubacks += 1
            elif kind == 0x30:  # an answer (QoS 0): topic, properties, JSON
                start = p.find(b"{")
                try:
                    self.answers[json.loads(p[start:]).get("status", "?")] += 1
                except ValueError:
                    self.answers["?"] += 1


def _raw_publisher(port: int, devices: list[tuple[str, bytes]], count: int, rate: float, ready: Any, go: Any,
                   results: Any) -> None:
    """One process, one thread: sign `count` messages per device, pre-encode them as MQTT PUBLISH packets, one
    connection per device; after `go`, send each device's due packets every few ms (at most 500 unacknowledged
    per connection), read PUBACKs and answers; report what was sent and answered."""
    import selectors

    from chain.crypto import PrivateKey
    from iot_bridge.simulator import SimDevice, sign_messages
    from iot_bridge.topics import acks_topic, events_topic

    conns = []
    addresses = []
    for address, scalar in devices:
        sim = SimDevice(PrivateKey.decode(scalar), ORG)
        assert sim.address == address
        messages = sign_messages(sim, list(range(1, count + 1)), "cold-chain")
        addresses.append(address)
        conns.append(_Conn(port, f"bench-{address}", events_topic(ORG, address), acks_topic(ORG, address), messages))
    selector = selectors.DefaultSelector()
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    ready.put(len(conns))
    go.wait()
    t0 = time.monotonic()
    sent_all_at = None
    deadline = t0 + count / rate + 180
    while time.monotonic() < deadline:
        due = min(count, int((time.monotonic() - t0) * rate) + 1)
        for conn in conns:
            upto = min(due, conn.pubacks + 500)
            if conn.sent < upto:
                conn.sock.sendall(b"".join(conn.packets[conn.sent:upto]))
                conn.sent_ms.extend([time.time_ns() // 1_000_000] * (upto - conn.sent))
                conn.sent = upto
        if sent_all_at is None and all(c.sent == count for c in conns):
            sent_all_at = time.monotonic()
        if sent_all_at is not None and all(sum(c.answers.values()) >= count for c in conns):
            break
        for key, _ in selector.select(0.004):
            key.data.handle(key.data.read())
    answers: Counter[str] = Counter()
    for conn in conns:
        answers.update(conn.answers)
        conn.sock.close()
    results.put([{"published": sum(c.sent for c in conns), "puback": sum(c.pubacks for c in conns),
                  "puback_errors": sum(c.bad_pubacks for c in conns), "accepted": answers["accepted"],
                  "answers": dict(answers), "missing": max(0, sum(c.sent for c in conns) - sum(answers.values())),
                  "publish_seconds": (sent_all_at or time.monotonic()) - t0,
                  "sent_ms": {a: c.sent_ms for a, c in zip(addresses, conns)}}])


def write_bridge_config(directory: Path, port: int, url: str, key_file: Path, http_port: int, drain_max: int = 5000,
                        in_flight: int = 4) -> Path:
    config = directory / "bridge.toml"
    config.write_text(f"""[broker]
host = "127.0.0.1"
port = {port}
client_id = "bench-bridge"
receive_maximum = 20000

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
intake_max = 2000
drain_max = {drain_max}
drain_in_flight = {in_flight}

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
        self.height = 0
        self.polls = 0

    def poll(self) -> None:
        if self.db is None:
            if not self.path.exists():
                return
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        now = time.time_ns() // 1_000_000
        # Only rows committed at or above the highest height seen so far (a row's height is set with its status),
        # so a poll reads what is new, not every committed row again.
        rows = self.db.execute("SELECT device, seq, received_at, height FROM events WHERE status = 'committed'"
                               " AND height >= ?", (self.height,)).fetchall()
        for device, seq, received, height in rows:
            if (device, seq) not in self.seen:
                self.seen[(device, seq)] = (received, now)
            self.height = max(self.height, int(height))
        self.polls += 1
        if self.polls % 20 == 0:
            self.status = Counter(dict(self.db.execute("SELECT status, COUNT(*) FROM events GROUP BY status")))

    def final(self) -> None:
        self.height = 0
        self.poll()
        if self.db is not None:
            self.status = Counter(dict(self.db.execute("SELECT status, COUNT(*) FROM events GROUP BY status")))


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds used (user + system), command line) of every live process."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / tick, cmd)
    return table


def cpu_by_role(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each role's processes and all their descendants (live ones)."""
    import resource

    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        total, stack = 0.0, [pid]
        while stack:
            p = stack.pop()
            if p in table:
                total += table[p][1]
                stack.extend(children.get(p, ()))
        return total

    out = {role: sum(tree(p) for p in pids) for role, pids in roots.items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["bench_poller"] = usage.ru_utime + usage.ru_stime
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot (/proc/stat), to tell how loaded the machine was."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return float(sum(fields) - idle), float(sum(fields))


def pct(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(len(values) * q))], 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2000, help="messages per second offered, all devices together")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--publishers", type=int, default=2, help="publishing processes")
    parser.add_argument("--publisher", choices=("raw", "paho"), default="raw",
                        help="raw: pre-encoded MQTT 5 packets, one thread per process (default); paho: "
                             "iot_bridge.simulator's DevicePublisher, a thread per device")
    parser.add_argument("--poll-ms", type=int, default=100)
    parser.add_argument("--drain-max", type=int, default=5000, help="the bridge's batch.drain_max")
    parser.add_argument("--in-flight", type=int, default=4, help="the bridge's batch.drain_in_flight")
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
            broker = LocalBroker(directory / "broker", random_loopback_port(), persistence=False,
                                 max_inflight=20_000, log_types=("error",))
            broker.start()
            port = broker.port
            http_port = random_loopback_port()
            config = write_bridge_config(directory, port, url, key_file, http_port, args.drain_max, args.in_flight)
            env = {**os.environ, "BENCH_ORG_KEY_PASSWORD": PASSWORD.decode()}
            bridge = subprocess.Popen([sys.executable, "-m", "iot_bridge", "--config", str(config), "run"], cwd=REPO,
                                      env=env, stdout=subprocess.DEVNULL, stderr=open(directory / "bridge.log", "wb"))
            wait_port(http_port)
            ctx = multiprocessing.get_context("spawn")
            ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            shares = [devices[i::args.publishers] for i in range(args.publishers) if devices[i::args.publishers]]
            log(f"signing {per_device * args.devices:,} messages in {len(shares)} processes; the bridge on "
                f"broker port {port}")
            target = _raw_publisher if args.publisher == "raw" else _publisher
            procs = [ctx.Process(target=target, args=(port, share, per_device, device_rate, ready, go, results))
                     for share in shares]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=600)
            time.sleep(2)  # the bridge's session and subscriptions settle
            watch = CommitWatch(directory / "outbox.sqlite")
            total = per_device * len(devices)
            log(f"publishing {total:,} events at {args.rate:,.0f}/s for ~{args.seconds:.0f} s")
            table = _proc_table()
            roots = {"validators": [pid for pid, (_, _, cmd) in table.items()
                                    if "node run" in cmd and str(directory / "net") in cmd],
                     "gateway": [gateway.pid], "broker": [broker.process.pid] if broker.process else [], "bridge": [bridge.pid],
                     "publishers": [p.pid for p in procs if p.pid is not None]}
            cpu_before, busy_before = cpu_by_role(roots), machine_busy()
            started_ms = time.time_ns() // 1_000_000
            go.set()
            deadline = time.monotonic() + args.seconds + 180
            while len(watch.seen) < total and time.monotonic() < deadline:
                time.sleep(args.poll_ms / 1000)
                watch.poll()
            cpu_after, busy_after = cpu_by_role(roots), machine_busy()
            watch.final()
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
            for device, first, digests in logged_runs(admin, start_height, addresses):
                logged.update((device, first + i) for i in range(len(digests)))
            expected = {(a, s) for a in addresses for s in range(1, per_device + 1)}
            lost = len(expected - set(logged))
            duplicates = sum(n - 1 for n in logged.values())
            latencies = sorted(float(c - r) for r, c in watch.seen.values())  # bridge receipt -> commit seen
            sent_ms = {(a, i + 1): t for r in reports for a, times in r.get("sent_ms", {}).items()
                       for i, t in enumerate(times)}
            from_publish = sorted(float(c - sent_ms[k]) for k, (_, c) in watch.seen.items() if k in sent_ms)
            publish_s = max((r.get("publish_seconds", 0.0) for r in reports), default=0.0)
            seconds = (finished_ms - started_ms) / 1000
            received_s = (max((r for r, _ in watch.seen.values()), default=started_ms) - started_ms) / 1000
            print(json.dumps({
                "bench": "iot_bridge", "validators": args.validators, "devices": args.devices, "events": total,
                "offered_per_s": args.rate, "committed_per_s": round(len(watch.seen) / seconds, 1) if seconds else 0,
                "latency_p50_ms": pct(from_publish or latencies, 0.5),
                "latency_p99_ms": pct(from_publish or latencies, 0.99),
                "latency_from": "publish" if from_publish else "bridge_receipt",
                "receipt_to_commit_p50_ms": pct(latencies, 0.5), "receipt_to_commit_p99_ms": pct(latencies, 0.99),
                "lost": lost, "duplicates_on_chain": duplicates, "on_chain_count": committed_on_chain,
                "received_per_s": round(len(watch.seen) / received_s, 1) if received_s > 0 else None,
                "seconds": round(seconds, 2), "target_per_s": 2000, "publisher": args.publisher,
            "drain_max": args.drain_max, "drain_in_flight": args.in_flight,
            "cpu_ms_per_event": {role: round((cpu_after[role] - cpu_before[role]) * 1000 / total, 3)
                                 for role in cpu_after},
            "machine_busy": round((busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1]), 3),
            "published_per_s": round(sum(r.get("published", r.get("accepted", 0)) for r in reports) / publish_s, 1)
            if publish_s else None,
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
                broker.stop()
            gateway.terminate()
            net.stop()


if __name__ == "__main__":
    main()

"""BFT consortium benchmark: n validators as separate processes on 127.0.0.1, open-loop KV-write load.

python -m bench.consensus [--suite classic|sm] [--nodes 4] [--seconds 60] [--rate R | --find-peak]
                          [--signers 500] [--latency-at 0.8] [--clients-per-node 2]

1. `chain net init` + `chain net up` a fresh n-validator network (temporary directory).
2. Register --signers users with a writer role; pre-sign every transaction (signing is the clients' cost).
3. Offer transactions at a fixed rate (open loop: submissions never wait for commits) from
   --clients-per-node (2) submitting threads per node with equal shares, for --seconds; a watcher
   follows node 0's commits (the `outcomes` call: hashes and result codes, not whole blocks, so the
   load generator leaves the cores to the validators) and notes when each was first seen committed.
4. Print JSON lines: committed tx/s over the window, commit latency p50/p99 (submit -> seen committed).

With --find-peak it first offers far more than the network can take to measure the peak, then
runs again at --latency-at (80%) of that peak for the latency figures, as the README quotes.
"""
from __future__ import annotations

import argparse
import os
import statistics
from collections import Counter
import tempfile
import threading
import time
from pathlib import Path

from bench.report import emit, log
from chain.crypto import get_suite
from chain.crypto.keystore import load_key
from chain.ledger.devnet import Member
from chain.ledger.operations import ConfigureRole, RegisterDataAccount, RegisterUser, WriteKV
from chain.ledger.permissions import LedgerPermission, RolePolicy, TxPermission
from chain.ledger.transaction import Transaction, TxContent
from chain.node.client import NodeClient
from chain.node.config import NodeConfig
from chain.node.netsetup import init_network
from chain.node.processes import down, node_directories, up

LEDGER = "main"


class Network:
    """A running n-node network and what the load needs from it."""

    def __init__(self, directory: Path, nodes: int, suite: str) -> None:
        password = b"bench"
        init_network(directory, nodes=nodes, suite=suite, base_port=20_000 + (os.getpid() % 240) * 50,
                     password=password, scrypt_n=2**10)
        self.directory = directory
        self.homes = node_directories(directory)
        self.configs = [NodeConfig.load(h / "node.json") for h in self.homes]
        self.admin = load_key(self.homes[0] / "keys" / "admin.key", password)
        self.suite = get_suite(suite)
        up(directory, timeout=120)
        with self.client(0) as c:
            status = c.status(LEDGER)
        self.ledger_id = status["ledger_id"]

    def client(self, i: int) -> NodeClient:
        return NodeClient(self.configs[i].host, self.configs[i].port, timeout=120)

    def height(self) -> int:
        with self.client(0) as c:
            return int(c.status(LEDGER)["height"])

    def commit(self, txs: list[Transaction]) -> None:
        with self.client(0) as c:
            verdicts = c.submit(LEDGER, txs)
            assert all(v["accepted"] for v in verdicts), verdicts[:1]
            for tx in txs:
                assert c.wait(LEDGER, tx.hash, 120_000)["status"] == "committed"

    def tx(self, ops: list[object], signer: object, expiry: int | None = None) -> Transaction:
        expiry = expiry if expiry is not None else self.height() + 900
        content = TxContent(self.ledger_id, os.urandom(12), expiry, tuple(ops))  # type: ignore[arg-type]
        return Transaction.create(self.suite, content, [signer])  # type: ignore[list-item]

    def stop(self) -> None:
        down(self.directory, timeout=30)


def _signers(net: Network, count: int) -> list[object]:
    """Register count users allowed to write any data account."""
    from chain.ca import CAStore

    store = CAStore.open(net.directory / "ca")
    org = store.organisations()[0]
    members = []
    for i in range(count):
        key = net.suite.generate_keypair().private
        record = store.issue(org, "user", f"loaduser{i}", ca_password=b"bench", public_key=key.public_key())
        members.append(Member(f"loaduser{i}", org, key, store.certificate(record.serial)))
    net.commit([net.tx([ConfigureRole("WRITER", int(LedgerPermission.WRITE_ANY_DATA_ACCOUNT),
                                      int(TxPermission.DIRECT_OPERATION)), RegisterDataAccount("bench", ())], net.admin)])
    for i in range(0, count, 100):
        regs = [RegisterUser(m.certificate.der, ("WRITER",), RolePolicy.UNION) for m in members[i:i + 100]]
        net.commit([net.tx(regs, net.admin)])
    return [m.key for m in members]


def committed_after(client: NodeClient, height: int, top: int) -> tuple[int, list[tuple[bytes, int]]]:
    """(new height, [(tx_hash, code)]) of the blocks after `height` up to `top` (at most 100 blocks per call)."""
    found: list[tuple[bytes, int]] = []
    for h, outcomes in client.call("outcomes", ledger=LEDGER, first=height + 1, last=top):
        found.extend((tx_hash, code) for tx_hash, code in outcomes)
        height = h
    return height, found


class Watcher(threading.Thread):
    """Follows node 0's commits (`outcomes`: hashes and codes, not whole blocks) and notes when each was first seen."""

    def __init__(self, net: Network, start_height: int) -> None:
        super().__init__(daemon=True)
        self.net = net
        self.next = start_height + 1
        self.seen: dict[bytes, float] = {}
        self.failed = 0
        self.stop_flag = threading.Event()

    def run(self) -> None:
        with self.net.client(0) as c:
            while not self.stop_flag.is_set():
                height = int(c.call("wait_height", ledger=LEDGER, height=self.next, timeout_ms=200)["height"])
                if height < self.next:
                    continue
                now = time.monotonic()
                reached, outcomes = committed_after(c, self.next - 1, height)
                for tx_hash, code in outcomes:
                    self.failed += code != 0
                    self.seen.setdefault(tx_hash, now)
                self.next = reached + 1


class Submitter(threading.Thread):
    """Offers one node its share of the load on a fixed schedule (open loop: never waits for commits)."""

    def __init__(self, net: Network, node: int, txs: list[tuple[bytes, bytes]], rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.net, self.node, self.txs, self.rate, self.seconds = net, node, txs, rate, seconds
        self.submitted: dict[bytes, float] = {}
        self.reasons: Counter[str] = Counter()
        self.start_at = 0.0

    def run(self) -> None:
        tick = 0.05
        index = 0
        with self.net.client(self.node) as client:
            n = 0
            while time.monotonic() - self.start_at < self.seconds and index < len(self.txs):
                n += 1
                due = min(len(self.txs), round(self.rate * n * tick))  # cumulative: no rounding loss per tick
                chunk = self.txs[index:due]
                index = max(index, due)
                if chunk:
                    self._submit(client, chunk)
                pause = self.start_at + n * tick - time.monotonic()
                if pause > 0:
                    time.sleep(pause)

    def _submit(self, client: NodeClient, chunk: list[tuple[bytes, bytes]]) -> None:
        sent_at = time.monotonic()
        verdicts = client.call("submit", ledger=LEDGER, transactions=[raw for _, raw in chunk])
        for (tx_hash, _), verdict in zip(chunk, verdicts):
            if verdict["accepted"]:
                self.submitted[tx_hash] = sent_at
            else:
                self.reasons[verdict.get("refusal") or verdict["code_name"]] += 1


def validators_cpu_seconds(net: Network) -> float:
    """CPU seconds used so far by the network's processes (the nodes and their signature-check workers)."""
    marker = str(net.directory).encode()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def offer(net: Network, txs: list[Transaction], rate: float, seconds: float, per_node: int = 2) -> dict[str, float]:
    """Open-loop load at `rate` tx/s for `seconds` from `per_node` submitting threads per node; committed tx/s, latencies."""
    watcher = Watcher(net, net.height())
    watcher.start()
    log(f"offering {rate:.0f} tx/s for {seconds:.0f} s")
    nodes = len(net.configs)
    encoded = [(tx.hash, tx.encode()) for tx in txs]
    clients = nodes * per_node
    submitters = [Submitter(net, i % nodes, encoded[i::clients], rate / clients, seconds) for i in range(clients)]
    cpu_before, own_before = validators_cpu_seconds(net), time.process_time()
    start = time.monotonic()
    for s in submitters:
        s.start_at = start
        s.start()
    for s in submitters:
        s.join()
    window = time.monotonic() - start
    submitted = {h: t for s in submitters for h, t in s.submitted.items()}
    reasons = sum((s.reasons for s in submitters), Counter())
    # Drain: everything accepted must commit (a backlog must not spill into the next run); give up
    # only when nothing new has been committed for 30 s.
    last_seen, last_change = -1, time.monotonic()
    while not all(h in watcher.seen for h in submitted) and time.monotonic() - last_change < 30:
        if len(watcher.seen) != last_seen:
            last_seen, last_change = len(watcher.seen), time.monotonic()
        time.sleep(0.2)
    watcher.stop_flag.set()
    watcher.join(10)
    cpu = validators_cpu_seconds(net) - cpu_before
    own_cpu = time.process_time() - own_before
    lost = [h for h in submitted if h not in watcher.seen]
    for h in lost[:5]:
        owner = next(s.node for s in submitters if h in s.submitted)
        with net.client(owner) as c:
            log(f"lost {h.hex()[:16]} (sent to node {owner}): {c.call('outcome', ledger=LEDGER, tx_hash=h)}")
    if reasons:
        log(f"refusals: {dict(reasons)}")
    in_window = [h for h, t in watcher.seen.items() if h in submitted and t - start <= window]
    latencies = sorted(watcher.seen[h] - submitted[h] for h in submitted if h in watcher.seen)
    refused = sum(reasons.values())
    if not latencies:
        return {"committed_per_s": 0.0, "offered_per_s": len(submitted) / window, "refused": refused}
    return {
        "committed_per_s": len(in_window) / window,
        "offered_per_s": len(submitted) / window,
        "refused": refused,
        "failed_in_execution": watcher.failed,
        # CPU per committed transaction, all validators together: comparable between runs on a busy machine
        "validators_cpu_us_per_tx": 1e6 * cpu / max(1, len(watcher.seen)),
        "load_generator_cpu_us_per_tx": 1e6 * own_cpu / max(1, len(watcher.seen)),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "lost": len(submitted) - len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=["classic", "sm"], default="classic")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=0, help="offered tx/s (default: find the peak first)")
    parser.add_argument("--peak-offer", type=float, default=3_000, help="offered tx/s when measuring the peak")
    parser.add_argument("--latency-at", type=float, default=0.8)
    parser.add_argument("--signers", type=int, default=500)
    parser.add_argument("--clients-per-node", type=int, default=2, help="submitting threads (connections) per node")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log(f"{args.suite}: starting {args.nodes} validators")
        net = Network(Path(tmp) / "net", args.nodes, args.suite)
        try:
            keys = _signers(net, args.signers)
            runs = [("peak", args.peak_offer), ("at_%d_percent" % round(args.latency_at * 100), 0.0)] if not args.rate \
                else [("fixed", args.rate)]
            peak = 0.0
            for label, rate in runs:
                rate = rate or peak * args.latency_at
                count = int(rate * args.seconds * 1.05) + 100
                log(f"{args.suite}: signing {count} transactions for {label} ({rate:.0f} tx/s offered)")
                expiry = net.height() + 990
                txs = [net.tx([WriteKV("bench", f"{label}-{i}", b"v" * 32, None)], keys[i % len(keys)], expiry)
                       for i in range(count)]
                result = offer(net, txs, rate, args.seconds, args.clients_per_node)
                for i in range(len(net.configs)):
                    with net.client(i) as c:
                        consensus = c.status(LEDGER)["consensus"]
                    log(f"node{i}: execution phases {consensus['timings_ms']}, refused {consensus['refused']}, "
                        f"signature checks {consensus['verification']}")
                peak = peak or result["committed_per_s"]
                emit("consensus", f"{args.suite}/n{args.nodes}/{label}/committed_tx_per_s", result["committed_per_s"],
                     **{k: round(v, 1) for k, v in result.items() if k != "committed_per_s"},
                     seconds=args.seconds, signers=args.signers)
        finally:
            net.stop()


if __name__ == "__main__":
    main()

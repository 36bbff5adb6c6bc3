"""`chain net`: create a local consortium of N validator nodes and start, stop and watch them as processes."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from chain.cli.errors import ChainGroup, register_expected
from chain.cli.password import get_password, password_file_option
from chain.crypto.keystore import DEFAULT_SCRYPT_N
from chain.ledger.errors import LedgerError
from chain.node.processes import NetProcessError, NodeStatus

register_expected(LedgerError, NetProcessError)

dir_option = click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("net"),
    envvar="CHAIN_NET_DIR", show_default="./net, or $CHAIN_NET_DIR", help="The network directory.",
)


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group(cls=ChainGroup)
def net() -> None:
    """A local consortium: N validator nodes on this machine, each its own process.

    \b
    chain net init --nodes 4 --suite sm --dir ./net     CA, keys, genesis, node configs
    chain net up --dir ./net                            start every node (detached)
    chain net status --dir ./net                        pid, port, ledger heights
    chain net down --dir ./net                          SIGTERM, SIGKILL after --timeout
    """


@net.command("init")
@click.option("--nodes", type=click.IntRange(1, 100), default=4, show_default=True, help="Number of validators.")
@click.option("--spare", "spares", type=click.IntRange(0, 99), default=0, show_default=True,
              help="Extra nodes that start as observers and join when the organisations approve them on chain.")
@click.option("--suite", type=click.Choice(["classic", "sm"]), default="classic", show_default=True,
              help="The ledger's crypto suite (the P2P TLS certificates are always classic P-256).")
@dir_option
@click.option("--base-port", type=click.IntRange(1, 65535), default=7400, show_default=True,
              help="Node i serves clients on base+i and its peers on base+100+i.")
@click.option("--ledger", "ledgers", multiple=True, default=("main",), show_default=True,
              help="Ledger to create on every node; repeat for several.")
@password_file_option
@click.option("--scrypt-n", type=int, default=DEFAULT_SCRYPT_N, hidden=True, help="Key-file KDF cost (tests lower it).")
def init(nodes: int, spares: int, suite: str, directory: Path, base_port: int, ledgers: tuple[str, ...],
         password_file: Path | None, scrypt_n: int) -> None:
    """Create the network: CAs, keys, one genesis per ledger naming every node, a ready node directory each.

    Without --password-file a random password is generated. Either way it
    encrypts every key of the network and is stored (mode 0600) in each
    node's node.pw, which the node reads at start.

    Example: chain net init --nodes 4 --suite sm --dir ./net
    (or --nodes 4 --spare 3: seven nodes, four of them validators at genesis)
    """
    from chain.node.netsetup import NETWORK_FILE, init_network

    password = get_password(password_file) if password_file is not None else secrets.token_urlsafe(24).encode()
    configs = init_network(directory, nodes=nodes, suite=suite, base_port=base_port, password=password,
                           scrypt_n=scrypt_n, ledgers=list(ledgers), spares=spares)
    info = json.loads((directory / NETWORK_FILE).read_text())
    rows = [["node", "org", "node address", "client", "p2p", "seat"]]
    rows += [[n["name"], n["organisation"], n["address"], n["client"], n["p2p"] or "-",
              "validator" if n["genesis_validator"] else "spare"] for n in info["nodes"]]
    _table(rows)
    mode = "BFT" if info["consensus"] == "bft" else "solo (a single validator)"
    click.echo(f"\ncreated {len(configs)} node(s) in {directory}: suite {info['suite']}, consensus {mode}")
    for ledger, block_hash in info["genesis_block_hash"].items():
        click.echo(f"ledger {ledger}: genesis block {block_hash}")
    click.echo(f"admin keys: {configs[0].parent / 'keys'}/admin*.key, one per organisation "
               f"(password in {configs[0].parent / 'node.pw'})")
    click.echo(f"start it with: chain net up --dir {directory}")


@net.command("up")
@dir_option
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds to wait for each node's client port.")
def up(directory: Path, timeout: float) -> None:
    """Start every node of the network as a detached process (log: nodeI/node.log, pid: nodeI/node.pid)."""
    from chain.node.processes import up as start

    started = start(directory, timeout=timeout)
    _table([["node", "pid", "client", "log"]] +
           [[p.name, str(p.pid), f"{p.host}:{p.port}", str(p.log)] for p in started])
    click.echo(f"{len(started)} node(s) running; stop them with: chain net down --dir {directory}")


@net.command("down")
@dir_option
@click.option("--timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait after SIGTERM before SIGKILL.")
def down(directory: Path, timeout: float) -> None:
    """Stop every node: SIGTERM (a node finishes its block and closes its ledgers), SIGKILL after --timeout."""
    from chain.node.processes import down as stop

    for result in stop(directory, timeout=timeout):
        click.echo(f"{result.name}  {result.outcome}" + (f" (pid {result.pid})" if result.pid is not None else ""))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _state(node: NodeStatus) -> str:
    if node.running:
        return "running"
    if node.alive:
        return "not answering"
    return "answering, no pid file" if node.reachable else "stopped"


@net.command("status")
@dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(directory: Path, as_json: bool) -> None:
    """Each node's process, client port and ledger heights. Exits 1 unless every node is running."""
    from chain.node.processes import status as inspect

    nodes = inspect(directory)
    if as_json:
        click.echo(json.dumps([{
            "name": n.name, "pid": n.pid, "alive": n.alive, "client": f"{n.host}:{n.port}", "reachable": n.reachable,
            "running": n.running, "error": n.error, "ledgers": _plain(n.ledgers),
        } for n in nodes], indent=2))
    else:
        rows = [["node", "state", "pid", "client", "ledgers"]]
        for n in nodes:
            ledgers = ", ".join(f"{item['name']} height {item['height']}" for item in n.ledgers) or "-"
            rows.append([n.name, _state(n), str(n.pid) if n.pid is not None else "-", f"{n.host}:{n.port}", ledgers])
        _table(rows)
        for n in nodes:
            if n.error:
                click.echo(f"{n.name}: {n.error}", err=True)
    if not all(n.running for n in nodes):
        sys.exit(1)

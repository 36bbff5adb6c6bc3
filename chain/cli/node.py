"""`chain node`, `chain tx`, `chain query`, `chain block`, `chain ledger`: run a node and talk to it."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from chain.cli.errors import register_expected
from chain.cli.password import get_password, password_file_option
from chain.crypto.keystore import load_key
from chain.ledger import namespaces as ns
from chain.ledger.errors import LedgerError, ResultCode
from chain.node.client import NodeClient, NodeError
from chain.node.protocol import ProtocolError
from chain.storage.errors import StorageError

register_expected(LedgerError, NodeError, ProtocolError, StorageError)

node_option = click.option("--node", default="127.0.0.1:7400", show_default=True, help="The node's client address host:port.")
ledger_option = click.option("--ledger", default="main", show_default=True, help="Ledger name on the node.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _client(node: str) -> NodeClient:
    host, _, port = node.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"expected host:port, got {node!r}", param_hint="--node")
    try:
        return NodeClient(host, int(port))
    except OSError as exc:
        raise click.ClickException(f"cannot reach the node at {node}: {exc.strerror or exc}") from None


def _show(data: Any, as_json: bool) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    text = json.dumps(plain(data), indent=2)
    click.echo(text)


@click.group()
def node() -> None:
    """Create and run a node."""


@node.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--suite", type=click.Choice(["classic", "sm"]), default="classic", show_default=True)
@click.option("--ledger", "ledgers", multiple=True, default=("main",), show_default=True,
              help="Ledger to create; repeat for several isolated ledgers on one node.")
@click.option("--port", type=click.IntRange(1, 65535), default=7400, show_default=True)
@password_file_option
def init(directory: Path, suite: str, ledgers: tuple[str, ...], port: int, password_file: Path | None) -> None:
    """Create a single-validator development node: CA, keys, genesis, config.

    Example: chain node init ./mynode --suite sm --ledger main --ledger audit
    """
    from chain.node.devsetup import init_node_dir

    password = get_password(password_file, confirm=True, what="password for the node and admin keys")
    path = init_node_dir(directory, suite=suite, ledgers=list(ledgers), port=port, password=password)
    click.echo(f"created {path}\nrun it with: chain node run --config {path}")


@node.command("run")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), required=True, help="node.json")
def run(config: Path) -> None:
    """Run a node until Ctrl-C / SIGTERM (the key password comes from $CHAIN_KEY_PASSWORD or the config)."""
    from chain.node.runner import run as run_node

    run_node(str(config))


@node.command("restore")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), required=True, help="node.json")
@click.option("--peer", required=True, help="A running node's client address host:port to take the snapshot from.")
@ledger_option
def restore(config: Path, peer: str, ledger: str) -> None:
    """Give a new (stopped) node the ledger from a peer's state snapshot, verified from this node's genesis on.

    The node's ledger must be at height 0. Headers are followed as a light
    client (certificates, proven validator changes), the snapshot is checked
    chunk by chunk against the certified state root, and the restored store
    replaces the old one in one rename. Then start the node: it catches up
    the blocks after the snapshot by itself.

    Example: chain node restore --config net/node4/node.json --peer 127.0.0.1:7400
    """
    from chain.node.bootstrap import restore as restore_ledger
    from chain.node.config import NodeConfig

    node_config = NodeConfig.load(config)
    entry = next((e for e in node_config.ledgers if e.name == ledger), None)
    if entry is None:
        raise click.BadParameter(f"the config names no ledger {ledger!r}", param_hint="--ledger")
    with _client(peer) as client:
        height = restore_ledger(client, ledger, Path(entry.path), progress=click.echo)
    click.echo(f"ledger {ledger} restored at height {height}; start the node: chain node run --config {config}")


@click.group()
def tx() -> None:
    """Sign and submit transactions with a key file."""


def submit_and_wait(node: str, ledger: str, key_file: Path, password_file: Path | None, ops: list[Any],
                    as_json: bool) -> tuple[Any, dict[str, Any]]:
    """Sign, submit and wait; a refused submission is shown and exits 1."""
    key = load_key(key_file, get_password(password_file))
    with _client(node) as client:
        transaction = client.build(ledger, ops, [key])
        verdict = client.submit(ledger, [transaction])[0]
        if not verdict["accepted"]:
            _show(verdict, as_json)
            sys.exit(1)
        return transaction, client.wait(ledger, transaction.hash)


def committed(outcome: dict[str, Any]) -> bool:
    """True if the transaction committed successfully."""
    return outcome.get("status") == "committed" and outcome["receipt"]["code"] == ResultCode.SUCCESS


def _send(node: str, ledger: str, key_file: Path, password_file: Path | None, ops: list[Any], as_json: bool) -> None:
    transaction, outcome = submit_and_wait(node, ledger, key_file, password_file, ops, as_json)
    _show({"tx_hash": transaction.hash, **outcome}, as_json)
    if not committed(outcome):
        sys.exit(1)


key_file_option = click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
                               help="Encrypted key of the signing user.")


@tx.command("account")
@click.argument("name")
@click.option("--reader", "readers", multiple=True, help="Role allowed to read (repeat); none = public.")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def tx_account(name: str, readers: tuple[str, ...], node: str, ledger: str, key_file: Path, password_file: Path | None, as_json: bool) -> None:
    """Register a data account owned by the signer.  Example: chain tx account orders --key-file admin.key"""
    from chain.ledger.operations import RegisterDataAccount

    _send(node, ledger, key_file, password_file, [RegisterDataAccount(name, readers)], as_json)


@tx.command("write")
@click.argument("account")
@click.argument("key")
@click.argument("value")
@click.option("--expected-version", type=int, default=None, help="Fail unless the key is at this version (-1: new).")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def tx_write(account: str, key: str, value: str, expected_version: int | None, node: str, ledger: str, key_file: Path,
             password_file: Path | None, as_json: bool) -> None:
    """Write KEY=VALUE (UTF-8) into a data account.  Example: chain tx write orders po-1 shipped --key-file admin.key"""
    from chain.ledger.operations import WriteKV

    _send(node, ledger, key_file, password_file, [WriteKV(account, key, value.encode(), expected_version)], as_json)


@tx.command("add-node")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def tx_add_node(certificate: Path, node: str, ledger: str, key_file: Path, password_file: Path | None, as_json: bool) -> None:
    """Register a node from its certificate (PEM) and propose it as a validator (the signer's organisation approves).

    Example: chain tx add-node net/node4/certs/node.pem --key-file net/node0/keys/admin.key
    """
    from chain.ca import Certificate
    from chain.ledger.operations import RegisterNode

    try:
        cert = Certificate.parse(certificate.read_bytes())
    except Exception as exc:
        raise click.BadParameter(f"not a certificate: {exc}", param_hint="CERTIFICATE") from None
    _send(node, ledger, key_file, password_file, [RegisterNode(cert.der, cert.public_key.encode())], as_json)


@tx.command("remove-node")
@click.argument("address")
@click.option("--revoke", is_flag=True, help="Revoke for good instead of freezing.")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def tx_remove_node(address: str, revoke: bool, node: str, ledger: str, key_file: Path, password_file: Path | None,
                   as_json: bool) -> None:
    """Propose to take a validator's seat away (freeze, or --revoke); the signer's organisation approves."""
    from chain.ledger.model import EntityState
    from chain.ledger.operations import SetNodeState

    state = EntityState.REVOKED if revoke else EntityState.FROZEN
    _send(node, ledger, key_file, password_file, [SetNodeState(_node_address(address), state)], as_json)


@tx.command("approve-node")
@click.argument("address")
@node_option
@ledger_option
@key_file_option
@password_file_option
@json_option
def tx_approve_node(address: str, node: str, ledger: str, key_file: Path, password_file: Path | None, as_json: bool) -> None:
    """Approve the pending membership change of a node for the signer's organisation."""
    from chain.ledger.operations import ApproveNodeChange

    _send(node, ledger, key_file, password_file, [ApproveNodeChange(_node_address(address))], as_json)


def _node_address(text: str) -> bytes:
    """A node address (Base58Check, as `chain net init` and status print it) as ledger bytes."""
    from chain.crypto import Address

    try:
        return Address.parse(text).encode()
    except Exception as exc:
        raise click.BadParameter(f"not a node address: {exc}", param_hint="ADDRESS") from None


@tx.command("status")
@click.argument("tx_hash")
@node_option
@ledger_option
@json_option
def tx_status(tx_hash: str, node: str, ledger: str, as_json: bool) -> None:
    """Show whether a transaction is committed (with its receipt), rejected or pending."""
    with _client(node) as client:
        _show(client.call("outcome", ledger=ledger, tx_hash=bytes.fromhex(tx_hash)), as_json)


@click.group()
def query() -> None:
    """Read state, with proofs."""


@query.command("state")
@click.argument("account")
@click.argument("key")
@click.option("--height", type=int, default=None, help="Value as of this height (default: latest).")
@node_option
@ledger_option
@json_option
def query_state(account: str, key: str, height: int | None, node: str, ledger: str, as_json: bool) -> None:
    """A data account value, checked against the block's state root with its Merkle proof."""
    from chain.codec.schema import from_cbor
    from chain.crypto import get_suite
    from chain.ledger.block import BlockHeader
    from chain.ledger.model import DataEntry
    from chain.ledger.smt import SparseMerkleProof, verify_proof

    state_key = ns.data_entry_key(account, key)
    with _client(node) as client:
        result = client.call("state", ledger=ledger, key=state_key, height=height)
        block = client.call("block", ledger=ledger, height=result["height"])
        suite = get_suite(client.status(ledger)["suite"])
    header = from_cbor(BlockHeader, block["header"])
    value = result["value"]
    verify_proof(suite.digest, header.state_root, suite.digest(state_key), None if value is None else suite.digest(value),
                 SparseMerkleProof.from_cbor(result["proof"]))
    out: dict[str, Any] = {"account": account, "key": key, "height": result["height"], "proof": "verified against the block's state root"}
    if value is None:
        out["value"] = None
    else:
        entry = from_cbor(DataEntry, value)
        out.update(value=entry.value.decode("utf-8", "replace"), version=entry.version, written_at_height=entry.height,
                   tx_hash=entry.tx_hash)
    _show(out, as_json)


@query.command("history")
@click.argument("account")
@click.argument("key")
@node_option
@ledger_option
@json_option
def query_history(account: str, key: str, node: str, ledger: str, as_json: bool) -> None:
    """Every version of a data account key."""
    from chain.codec.schema import from_cbor
    from chain.ledger.model import DataEntry

    with _client(node) as client:
        rows = client.call("history", ledger=ledger, key=ns.data_entry_key(account, key))
    out = []
    for height, raw in rows:
        entry = from_cbor(DataEntry, raw) if raw is not None else None
        out.append({"height": height, "version": entry.version if entry else None,
                    "value": entry.value.decode("utf-8", "replace") if entry else None})
    _show(out, as_json)


@click.group()
def block() -> None:
    """Inspect blocks."""


@block.command("show")
@click.argument("height", type=int, required=False)
@node_option
@ledger_option
@json_option
def block_show(height: int | None, node: str, ledger: str, as_json: bool) -> None:
    """Header, transactions and receipts of a block (default: the latest)."""
    from chain.codec.schema import from_cbor
    from chain.ledger.block import BlockHeader

    with _client(node) as client:
        data = client.call("block", ledger=ledger, height=height)
    header = from_cbor(BlockHeader, data["header"])
    _show({"header": header.__dict__, "transactions": len(data["transactions"]), "receipts": data["receipts"]}, as_json)


@click.group()
def ledger() -> None:
    """Ledger maintenance."""


@ledger.command("init")
@click.option("--genesis", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="Genesis file (JSON) naming the consortium's certificates.")
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="New ledger database directory.")
@click.option("--node-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="Encrypted key of the founding validator (its certificate must be in the genesis nodes).")
@password_file_option
def ledger_init(genesis: Path, data: Path, node_key: Path, password_file: Path | None) -> None:
    """Create a ledger's genesis block from a genesis file, signed by this validator.

    Example: chain ledger init --genesis genesis.json --data ledgers/main --node-key keys/node.key
    """
    from chain.ledger.chain_store import ChainStore
    from chain.ledger.genesis_file import load_genesis_file
    from chain.storage import open_store

    config = load_genesis_file(genesis)
    key = load_key(node_key, get_password(password_file))
    if data.exists() and any(data.iterdir()):
        raise click.ClickException(f"{data} is not empty; refusing to create a ledger over existing data")
    data.parent.mkdir(parents=True, exist_ok=True)
    kv = open_store(str(data))
    try:
        chain = ChainStore.create(kv, config, [key])
        click.echo(f"ledger {config.settings.name!r} ({chain.suite.name}) created: id {chain.ledger_id.hex()}")
    finally:
        kv.close()


@ledger.command("verify")
@click.option("--data", "data", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True,
              help="Ledger database directory (the node must be stopped: LevelDB allows one process).")
@click.option("--scratch", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the replica (default: in memory).")
def ledger_verify(data: Path, scratch: Path | None) -> None:
    """Recompute every hash, signature, certificate and state root from genesis; name the first inconsistency."""
    from chain.crypto import BatchVerifier
    from chain.ledger.audit import audit
    from chain.storage import MemoryKV, open_store

    kv = open_store(str(data), create_if_missing=False)
    replica = open_store(str(scratch)) if scratch is not None else MemoryKV()
    try:
        with BatchVerifier() as verifier:
            report = audit(kv, replica, verifier.verify)
    finally:
        kv.close()
        replica.close()
    if report.ok:
        click.echo(f"OK: {report.blocks_checked} blocks, {report.transactions_checked} transactions, "
                   f"{report.keys_compared} records verified (height {report.height})")
        return
    click.echo(f"INCONSISTENT at {report.location}: {report.problem}", err=True)
    sys.exit(1)

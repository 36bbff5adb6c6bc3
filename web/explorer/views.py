"""The explorer's pages: ledger home, blocks, transactions, data accounts and keys, users, contracts, validators, events.

Every page reads through the SDK client of its server thread. A thing the
gateway does not know becomes a 404 page that names what was asked for; the
error pages themselves live in web/errors.py.
"""
from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

from flask import render_template, request
from werkzeug.exceptions import NotFound

from chain.sdk import ApiError, Client
from web.explorer.blueprint import blueprint, client

LATEST_BLOCKS = 20
EVENT_WINDOW = 500  # blocks the events page looks back over
EVENTS_SHOWN = 100
TX_HASH = re.compile(r"^[0-9a-fA-F]{64}$")

T = TypeVar("T")


def found_or_404(read: Callable[[], T], message: str) -> T:
    """The result of a read, or a 404 page with `message` if the gateway does not know the thing."""
    try:
        return read()
    except ApiError as exc:
        if exc.status == 404:
            raise NotFound(message) from None
        raise


def block_summary(block: dict[str, Any]) -> dict[str, Any]:
    """What a list of blocks shows of one."""
    header = block["header"]
    return {"height": header["height"], "hash": header["hash"], "timestamp_ms": header["timestamp_ms"],
            "tx_count": len(block["transactions"]), "proposer": header["proposer"]}


def parse_height(text: str) -> int:
    """A block height from a URL, or a 404 saying it is not one."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"{text!r} is not a block height (a whole number, 0 for genesis).")
    return int(text)


def parse_tx_hash(text: str) -> bytes:
    """A transaction hash from a URL, or a 404 saying it is not one."""
    if not TX_HASH.match(text):
        raise NotFound(f"{text!r} is not a transaction hash (64 hexadecimal digits).")
    return bytes.fromhex(text)


@blueprint.get("/")
def home() -> str:
    sdk = client()
    status = sdk.status()
    head = status["height"]
    blocks = [block_summary(sdk.block(h)) for h in range(head, max(-1, head - LATEST_BLOCKS), -1)]
    return render_template("explorer/home.html", status=status, blocks=blocks, latest=LATEST_BLOCKS)


@blueprint.get("/blocks/<height>")
def block(height: str) -> str:
    number = parse_height(height)
    sdk = client()
    head = sdk.status()["height"]
    data = found_or_404(lambda: sdk.block(number), f"There is no block {number}: the chain's head is block {head}.")
    return render_template("explorer/block.html", block=data, header=data["header"], head=head)


@blueprint.get("/tx/<tx_hash>")
def transaction(tx_hash: str) -> str:
    raw = parse_tx_hash(tx_hash)
    sdk = client()
    tx = found_or_404(lambda: sdk.transaction(raw, verify=False),
                      f"There is no committed transaction {raw.hex()} on ledger {sdk.ledger!r}.")
    events = [e for e in sdk.block(tx["height"])["events"] if e["tx_hash"] == tx["tx_hash"]]
    return render_template("explorer/transaction.html", tx=tx, receipt=tx["receipt"], events=events)


@blueprint.get("/accounts/<account>")
def account(account: str) -> str:
    sdk = client()
    record = found_or_404(lambda: sdk.account(account), f"There is no data account {account!r}.")
    return render_template("explorer/account.html", account=record)


@blueprint.get("/accounts/<account>/keys/<path:key>")
def key(account: str, key: str) -> str:
    sdk = client()
    found_or_404(lambda: sdk.account(account), f"There is no data account {account!r}.")
    record = sdk.entry_record(account, key)
    history = sdk.history(account, key)
    if record["entry"] is None and not history:
        raise NotFound(f"Data account {account!r} has no key {key!r}.")
    return render_template("explorer/key.html", account=account, key=key, record=record, entry=record["entry"],
                           history=list(reversed(history)))


@blueprint.get("/users/<address>")
def user(address: str) -> str:
    sdk = client()
    try:
        record = sdk.user(address)
    except ApiError as exc:
        if exc.status in (400, 404):
            raise NotFound(f"There is no registered user with the address {address!r}.") from None
        raise
    validator = any(v["address"] == address for v in sdk.validators())
    return render_template("explorer/user.html", user=record, validator=validator)


@blueprint.get("/contracts/<name>")
def contract(name: str) -> str:
    sdk = client()
    info = found_or_404(lambda: sdk.contract(name), f"There is no contract {name!r}.")
    return render_template("explorer/contract.html", contract=info, abi=info.get("abi") or {})


@blueprint.get("/validators")
def validators() -> str:
    sdk = client()
    status = sdk.status()
    members = sdk.validators()
    head = status["height"]
    recent = [sdk.block(h) for h in range(head, max(-1, head - LATEST_BLOCKS), -1)]
    latest_signers = set(recent[0]["certificate"]["signers"]) if recent else set()
    rows = []
    for member in members:
        address = member["address"]
        signed = sum(1 for b in recent if address in b["certificate"]["signers"])
        proposed = sum(1 for b in recent if b["header"]["proposer"] == address)
        rows.append({**member, "signed_latest": address in latest_signers, "signed": signed, "proposed": proposed})
    return render_template("explorer/validators.html", status=status, validators=rows, window=len(recent),
                           quorum=len(members) * 2 // 3 + 1, changes=status.get("membership_changes", []),
                           consensus=status.get("consensus"))


@blueprint.get("/events")
def events() -> str:
    sdk = client()
    account_filter = request.args.get("account", "").strip() or None
    topic_filter = request.args.get("topic", "").strip() or None
    head = sdk.status()["height"]
    first = max(0, head - EVENT_WINDOW + 1)
    found = sdk.events(first, ("event",), account_filter, topic_filter)
    items = [item for _, item in reversed(found)][:EVENTS_SHOWN]
    return render_template("explorer/events.html", events=items, total=len(found), first=first, head=head,
                           account=account_filter or "", topic=topic_filter or "", shown=EVENTS_SHOWN)


def is_validator(sdk: Client, address: str) -> bool:
    """Whether an address is in the current validator set."""
    return any(v["address"] == address for v in sdk.validators())

"""The explorer against a real node and a real gateway, driven by a real browser (Debian's Chromium via Playwright).

One node, one gateway and one explorer serve the whole session; the data the
pages show is written first through the SDK with the consortium admin key.
Chromium is installed with apt-get when it is missing; under CI=true a
browser that cannot be had fails the tests instead of skipping them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from chain.contracts import compile_source
from chain.crypto.keystore import load_key
from chain.gateway import GatewayConfig, create_app
from chain.ledger.model import ContractPolicy
from chain.ledger.operations import (
    ConfigureRole,
    DeployContract,
    PublishEvent,
    RegisterDataAccount,
    RegisterEventAccount,
    WriteKV,
)
from chain.node.devsetup import init_node_dir
from chain.sdk import Client
from tests.chain.gateway.conftest import Stack, serve, stop_server
from tests.chain.node.conftest import PASSWORD, NodeProcess, free_port
from web import create_app as create_web_app

TOKEN = Path(__file__).resolve().parents[2] / "chain" / "contracts" / "examples" / "token.py"


@dataclass
class ChainData:
    """What the session wrote, for the pages to show."""

    write_tx: str  # registers `orders` and writes po-1 = packed
    update_tx: str  # po-1 = shipped
    event_tx: str  # alerts/temp "hot"
    transfer_tx: str  # gold.transfer("bob", 10)
    transfer_height: int
    admin: str
    validator: str


@dataclass
class Explorer:
    """The explorer's base URL, the stack behind it and the data on the chain."""

    url: str
    stack: Stack
    data: ChainData

    def client(self) -> Client:
        """An SDK client signing with the admin key."""
        return Client(self.stack.url, key=self.stack.admin)


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "committed" and result["receipt"]["code_name"] == "SUCCESS", result
    return result["receipt"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One node and one gateway for the session (the gateway tests' Stack, without their dead first node)."""
    base = tmp_path_factory.mktemp("web-stack")
    port = free_port()
    config = init_node_dir(base / "node", suite="sm", ledgers=["main"], port=port, password=PASSWORD.encode(),
                           scrypt_n=2**10)
    node = NodeProcess(config, port, base / "node.log")
    node.start()
    app = create_app(GatewayConfig([f"127.0.0.1:{port}"]))
    url, server, thread = serve(app)
    try:
        yield Stack(node, url, load_key(base / "node" / "keys" / "admin.key", PASSWORD.encode()), base / "node", app)
    finally:
        app.extensions["gateway"].close()
        stop_server(server, thread)
        node.stop()


@pytest.fixture(scope="session")
def chain_data(web_stack: Stack) -> ChainData:
    """Data account writes, an event, a restricted account, a contract deploy and invocations."""
    client = Client(web_stack.url, key=web_stack.admin)
    write = _outcome(client.send([RegisterDataAccount("orders", ()), WriteKV("orders", "po-1", b"packed", -1)]))
    update = _outcome(client.send([WriteKV("orders", "po-1", b"shipped", None)]))
    event = _outcome(client.send([RegisterEventAccount("alerts"), PublishEvent("alerts", "temp", b"hot", None)]))
    _outcome(client.send([ConfigureRole("AUDITOR", 0, 1), RegisterDataAccount("secret", ("AUDITOR",)),
                          WriteKV("secret", "k", b"hidden", None)]))
    ir = compile_source(TOKEN.read_text(), "token.py").encode()
    _outcome(client.send([DeployContract("gold", ir, ContractPolicy(1, ("org1",)))]))
    _outcome(client.invoke("gold", "init", "Gold", "GLD", 1000))
    transfer = _outcome(client.invoke("gold", "transfer", "bob", 10))
    validator = client.validators()[0]["address"]
    return ChainData(write["tx_hash"], update["tx_hash"], event["tx_hash"], transfer["tx_hash"], transfer["height"],
                     client.address, validator)


@pytest.fixture(scope="session")
def explorer(web_stack: Stack, chain_data: ChainData) -> Iterator[Explorer]:
    """The explorer app served by waitress on a loopback port."""
    url, server, thread = serve(create_web_app(web_stack.url))
    try:
        yield Explorer(url, web_stack, chain_data)
    finally:
        # stop the gateway's event feeds first: its streams end, so the relays end and no server task is left running
        web_stack.app.extensions["gateway"].close()  # type: ignore[attr-defined]
        stop_server(server, thread)


@pytest.fixture(scope="module")
def browser_tab(browser: Any, explorer: Explorer) -> Iterator[Any]:
    """One tab per module: a new tab costs more than most tests (the explorer sets no cookies or storage)."""
    context = browser.new_context(base_url=explorer.url)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser_tab: Any) -> Iterator[Any]:
    """The session's tab; left on a blank page after the test, which also ends a live page's event stream."""
    yield browser_tab
    browser_tab.goto("about:blank")

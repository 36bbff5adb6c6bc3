"""Fixtures for the transport tests: a PKI valid now, fast timings, and a helper to run a mesh of Networks."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Iterator, TypeVar

import pytest

from chain.net import BackoffConfig, NetConfig, Network

from .pki import Pki, make_pki

T = TypeVar("T")
FAST = NetConfig(
    connect_timeout=2.0,
    handshake_timeout=2.0,
    idle_timeout=3.0,
    keepalive_interval=1.0,
    frame_timeout=3.0,
    write_timeout=2.0,
    close_timeout=0.5,
    backoff=BackoffConfig(base=0.05, factor=2.0, maximum=0.4, jitter=0.5),
)


def run(coro: Awaitable[T], timeout: float = 20.0) -> T:
    """Run one scenario on a fresh event loop, with a hard time limit."""
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro
    return asyncio.run(bounded())


@pytest.fixture(scope="session")
def pki() -> Pki:
    """One consortium for the whole session (certificates never change)."""
    return make_pki()


@pytest.fixture(autouse=True)
def _net_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture the transport's logs; fail a test that made asyncio log an error (an unhandled task exception)."""
    caplog.set_level(logging.DEBUG, logger="chain.net")
    yield
    errors = [r.getMessage() for r in caplog.records if r.name.startswith("asyncio") and r.levelno >= logging.ERROR]
    assert not errors, errors


async def start_mesh(pki: Pki, names: list[str], config: NetConfig = FAST, **kwargs: Any) -> dict[str, Network]:
    """Start one Network per name, then give each the others' addresses; returns them by name."""
    nets: dict[str, Network] = {}
    for name in names:
        peers = [pki.spec(other) for other in names if other != name]
        nets[name] = Network(name, pki.identity(name), pki.trust, peers, config, **kwargs)
        await nets[name].start()
    for name, net in nets.items():
        net.update_peers([pki.spec(other, nets[other].address[1]) for other in names if other != name])
    return nets


async def stop_all(nets: dict[str, Network]) -> None:
    """Stop every network."""
    await asyncio.gather(*(n.stop() for n in nets.values()))


"""Reconnection: a stopped peer is redialled with exponential backoff and reconnected once it is back."""
from __future__ import annotations

import asyncio
from dataclasses import replace

from chain.net import Network

from .conftest import FAST, run
from .pki import Pki


def test_a_stopped_peer_is_reconnected_after_it_restarts_with_backoff(pki: Pki) -> None:
    delays: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(seconds)

    async def scenario() -> None:
        node1 = Network("node1", pki.identity("node1"), pki.trust, [pki.spec("node0")], FAST)
        await node1.start()
        port1 = node1.address[1]
        node0 = Network("node0", pki.identity("node0"), pki.trust, [pki.spec("node1", port1)], FAST,
                        sleep=recording_sleep, rand=lambda: 0.0)
        await node0.start()
        try:
            await node0.wait_connected(timeout=5)
            assert node0.send("node1", b"before")
            assert (await node1.receive()).payload == b"before"
            await node1.stop()
            while node0.connected_peers():
                await asyncio.sleep(0.01)
            assert not node0.send("node1", b"while down")  # dropped: not connected
            await asyncio.sleep(1.0)  # node0 keeps redialling a closed port
            assert node0.status("node1").dial_failures >= 3
            restarted = Network("node1", pki.identity("node1"), pki.trust, [pki.spec("node0", node0.address[1])],
                                replace(FAST, listen_port=port1))
            await restarted.start()
            try:
                await node0.wait_connected(timeout=5)
                await restarted.wait_connected(timeout=5)
                assert node0.status("node1").connects == 2 and node0.status("node1").dial_failures == 0
                assert node0.send("node1", b"after")
                assert (await restarted.receive()).payload == b"after"
                assert restarted.send("node0", b"back")
                assert (await node0.receive()).payload == b"back"
            finally:
                await restarted.stop()
        finally:
            await node0.stop()

    run(scenario())
    # rand() == 0 means no jitter: base * 2**n, capped at the maximum
    b = FAST.backoff
    expected = [min(b.maximum, b.base * b.factor**n) for n in range(len(delays))]
    assert delays[:5] == expected[:5] and len(delays) >= 4
    assert max(delays) <= b.maximum


def test_both_sides_restarting_repeatedly_converge_to_one_connection(pki: Pki) -> None:
    async def scenario() -> None:
        a = Network("node0", pki.identity("node0"), pki.trust, [pki.spec("node1")], FAST)
        await a.start()
        port_b = None
        for round_ in range(4):
            b = Network("node1", pki.identity("node1"), pki.trust, [pki.spec("node0", a.address[1])],
                        replace(FAST, listen_port=port_b or 0))
            await b.start()
            port_b = b.address[1]
            a.update_peers([pki.spec("node1", port_b)])
            await asyncio.gather(a.wait_connected(timeout=5), b.wait_connected(timeout=5))
            da, db = a.status("node1").direction, b.status("node0").direction
            assert da is not None and db is not None and da != db
            assert b.send("node0", f"round {round_}".encode())
            assert (await a.receive()).payload == f"round {round_}".encode()
            await b.stop()
        await a.stop()

    run(scenario())

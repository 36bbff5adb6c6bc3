"""A slow or stalled reader cannot make the sender's memory grow without bound."""
from __future__ import annotations

import asyncio
import tracemalloc
from dataclasses import replace

import pytest

from chain.net import Network, Priority

from .conftest import FAST, run
from .pki import Pki
from .raw import abort, answer, client_ctx, connect

MIB = 1 << 20
BOUNDED = replace(FAST, max_frame_size=MIB, send_queue_bytes=4 * MIB, write_timeout=10.0, idle_timeout=20.0,
                  keepalive_interval=5.0)


def _logged(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    return any(all(w in r.getMessage() for w in words) for r in caplog.records)


async def _stalled_peer(pki: Pki, config=BOUNDED):  # type: ignore[no-untyped-def]
    """node0, and node1 as a raw authenticated client that never reads after ACCEPT."""
    node0 = Network("node0", pki.identity("node0"), pki.trust, [pki.spec("node1")], config)
    await node0.start()
    ident = pki.identity("node1")
    reader, writer = await connect(node0.address[1], client_ctx(ident.certificate, ident.key, ident.chain, pki.trust))
    assert await answer(reader) == "accept"
    await node0.wait_connected(timeout=5)
    writer.transport.pause_reading()
    return node0, reader, writer


def test_high_priority_overflow_drops_the_slow_peer_and_memory_stays_bounded(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    payload = bytes(256 * 1024)
    peak_queue = 0

    async def scenario() -> tuple[int, int]:
        nonlocal peak_queue
        node0, _reader, writer = await _stalled_peer(pki)
        try:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            sent = 0
            for _ in range(400):  # 100 MiB offered
                if not node0.send("node1", payload):
                    break
                sent += 1
                peak_queue = max(peak_queue, node0.status("node1").queued_bytes)
                await asyncio.sleep(0)
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            assert "node1" not in node0.connected_peers()
            return sent, peak
        finally:
            abort(writer)
            await node0.stop()

    sent, peak = run(scenario())
    assert sent < 400
    assert peak_queue <= BOUNDED.send_queue_bytes
    assert peak < 4 * BOUNDED.send_queue_bytes, f"{peak} bytes traced"
    assert _logged(caplog, "disconnected from node1", "send queue full")


def test_low_priority_overflow_drops_oldest_messages_and_keeps_the_connection(pki: Pki) -> None:
    payload = bytes(256 * 1024)

    async def scenario() -> None:
        node0, _reader, writer = await _stalled_peer(pki)
        try:
            accepted = 0
            for _ in range(200):
                accepted += node0.send("node1", payload, Priority.LOW)
                assert node0.status("node1").queued_bytes <= BOUNDED.send_queue_bytes
                await asyncio.sleep(0)
            status = node0.status("node1")
            assert status.connected and status.dropped_messages > 0
            assert accepted == 200  # a LOW message always fits by evicting older LOW ones
            # a HIGH message still fits by evicting LOW ones
            assert node0.send("node1", payload, Priority.HIGH)
        finally:
            abort(writer)
            await node0.stop()

    run(scenario())


def test_a_reader_that_stops_reading_is_dropped_after_write_timeout(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    config = replace(BOUNDED, send_queue_bytes=128 * MIB, write_timeout=0.5)
    payload = bytes(MIB - 1)

    async def scenario() -> None:
        node0, _reader, writer = await _stalled_peer(pki, config)
        try:
            for _ in range(64):
                if not node0.send("node1", payload):
                    break
                await asyncio.sleep(0)
            async with asyncio.timeout(5):
                while node0.connected_peers():
                    await asyncio.sleep(0.05)
        finally:
            abort(writer)
            await node0.stop()

    run(scenario())
    assert _logged(caplog, "disconnected from node1", "slow reader")


def test_a_slow_consumer_pushes_back_to_the_sender(pki: Pki) -> None:
    """node1's handler blocks: node1 stops reading its socket, node0's queue fills to its bound, LOW messages drop."""
    release = asyncio.Event()
    got: list[int] = []

    async def handler(node_id: str, payload: bytes) -> None:
        await release.wait()
        got.append(int.from_bytes(payload[:4], "big"))

    async def scenario() -> None:
        nonlocal release
        release = asyncio.Event()
        node1 = Network("node1", pki.identity("node1"), pki.trust, [pki.spec("node0")], BOUNDED, on_message=handler)
        await node1.start()
        node0 = Network("node0", pki.identity("node0"), pki.trust, [pki.spec("node1", node1.address[1])], BOUNDED)
        await node0.start()
        try:
            await node0.wait_connected(timeout=5)
            for i in range(400):  # 100 MiB offered, LOW
                node0.send("node1", i.to_bytes(4, "big") + bytes(256 * 1024 - 4), Priority.LOW)
                assert node0.status("node1").queued_bytes <= BOUNDED.send_queue_bytes
                await asyncio.sleep(0)
            assert node0.status("node1").dropped_messages > 0
            assert node0.connected_peers() == {"node1"}
            release.set()
            node0.send("node1", (999_999).to_bytes(4, "big"), Priority.HIGH)
            async with asyncio.timeout(10):
                while 999_999 not in got or 399 not in got:
                    await asyncio.sleep(0.01)
            low = [i for i in got if i != 999_999]
            assert low[0] == 0 and low == sorted(low) and low[-1] == 399  # the newest LOW messages survive, in order
            assert len(low) < 400
        finally:
            await node0.stop()
            await node1.stop()

    run(scenario())

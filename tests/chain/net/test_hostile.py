"""Hostile and broken peers: oversized frames, garbage, slow-loris, handshake floods. The node keeps serving others."""
from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import replace

import pytest

from chain.net import Network

from .conftest import FAST, run, start_mesh, stop_all
from .pki import Pki
from .raw import abort, answer, client_ctx, closed_by_peer, connect

SMALL = replace(FAST, max_frame_size=64 * 1024, send_queue_bytes=1 << 20)


def _logged(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    return any(all(w in r.getMessage() for w in words) for r in caplog.records)


async def _as_peer(pki: Pki, name: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An authenticated raw connection impersonating (with its real key) the known peer `name`."""
    ident = pki.identity(name)
    reader, writer = await connect(port, client_ctx(ident.certificate, ident.key, ident.chain, pki.trust))
    assert await answer(reader) == "accept"
    return reader, writer


async def _still_talks(a: Network, b: Network) -> None:
    """a and b still exchange a message both ways."""
    assert a.send(b.node_id, b"ping") and b.send(a.node_id, b"pong")
    assert (await b.receive()).payload == b"ping"
    assert (await a.receive()).payload == b"pong"


async def _mesh_with_raw_node2(pki: Pki, config=SMALL) -> dict[str, Network]:  # type: ignore[no-untyped-def]
    """node0 <-> node1 connected; node0 also expects node2, which only dials in (raw, driven by the test)."""
    nets = await start_mesh(pki, ["node0", "node1"], config)
    nets["node0"].update_peers([pki.spec("node1", nets["node1"].address[1]), pki.spec("node2")])
    await nets["node0"].wait_connected(["node1"], timeout=5)
    return nets


def test_an_oversized_frame_closes_only_that_connection(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        nets = await _mesh_with_raw_node2(pki)
        try:
            reader, writer = await _as_peer(pki, "node2", nets["node0"].address[1])
            await nets["node0"].wait_connected(["node2"], timeout=5)
            writer.write(struct.pack(">I", SMALL.max_frame_size + 1) + b"\x00" * 100)
            assert await closed_by_peer(reader)
            abort(writer)
            assert "node2" not in nets["node0"].connected_peers()
            await _still_talks(nets["node0"], nets["node1"])
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "disconnected from node2", "too_large", str(SMALL.max_frame_size))


def test_a_frame_at_the_limit_is_fine_and_one_byte_more_is_refused_on_send(pki: Pki) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1"], SMALL)
        try:
            await nets["node0"].wait_connected(timeout=5)
            payload = os.urandom(SMALL.max_payload_size)
            assert nets["node0"].send("node1", payload)
            assert (await nets["node1"].receive()).payload == payload
            with pytest.raises(Exception) as info:
                nets["node0"].send("node1", payload + b"x")
            assert getattr(info.value, "code", None) == "too_large"
        finally:
            await stop_all(nets)

    run(scenario())


@pytest.mark.parametrize("size", [1, 7, 5000])
def test_random_bytes_after_the_handshake_do_not_crash_the_node(pki: Pki, size: int) -> None:
    async def scenario() -> None:
        nets = await _mesh_with_raw_node2(pki)
        try:
            for _ in range(5):
                reader, writer = await _as_peer(pki, "node2", nets["node0"].address[1])
                writer.write(os.urandom(size))
                await writer.drain()
                # whatever the bytes meant, node0 either closes the connection or waits for more; never dies
                await closed_by_peer(reader, timeout=0.2)
                abort(writer)
            await _still_talks(nets["node0"], nets["node1"])
            # and the real node2 can still come in afterwards
            reader, writer = await _as_peer(pki, "node2", nets["node0"].address[1])
            abort(writer)
        finally:
            await stop_all(nets)

    run(scenario())


def test_unknown_message_kinds_and_empty_frames_close_the_connection(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        nets = await _mesh_with_raw_node2(pki)
        try:
            for frame in (struct.pack(">I", 0), struct.pack(">IB", 1, 0x7F)):
                reader, writer = await _as_peer(pki, "node2", nets["node0"].address[1])
                writer.write(frame)
                assert await closed_by_peer(reader)
                abort(writer)
            await _still_talks(nets["node0"], nets["node1"])
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "disconnected from node2", "empty frame")
    assert _logged(caplog, "disconnected from node2", "unknown message kind 127")


def test_garbage_instead_of_a_tls_handshake_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1"], SMALL)
        try:
            for junk in (b"GET / HTTP/1.1\r\n\r\n", os.urandom(3000), b"\x16\x03\x01\xff\xff" + os.urandom(100)):
                reader, writer = await connect(nets["node0"].address[1], None)
                writer.write(junk)
                assert await closed_by_peer(reader)
                abort(writer)
            await nets["node0"].wait_connected(timeout=5)
            await _still_talks(nets["node0"], nets["node1"])
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "TLS handshake with 127.0.0.1", "failed")


def test_silent_and_slow_loris_peers_are_timed_out(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    config = replace(SMALL, idle_timeout=0.6, keepalive_interval=0.2, frame_timeout=0.6)

    async def scenario() -> None:
        nets = await _mesh_with_raw_node2(pki, config)
        try:
            port = nets["node0"].address[1]
            # silent after the handshake: no frame (not even a keepalive) within idle_timeout
            reader, writer = await _as_peer(pki, "node2", port)
            assert await closed_by_peer(reader, timeout=3)
            abort(writer)
            # a frame header announcing 1000 bytes, then a trickle
            reader, writer = await _as_peer(pki, "node2", port)
            writer.write(struct.pack(">I", 1000) + b"\x00")
            for _ in range(8):
                writer.write(b"\x00")
                await asyncio.sleep(0.1)
            assert await closed_by_peer(reader, timeout=3)
            abort(writer)
            # healthy idle connections survive the same timeouts thanks to keepalives
            await asyncio.sleep(1.0)
            assert "node1" in nets["node0"].connected_peers()
            await _still_talks(nets["node0"], nets["node1"])
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "disconnected from node2", "no frame within 0.6 s")
    assert _logged(caplog, "disconnected from node2", "did not arrive within 0.6 s")


def test_a_flood_of_unfinished_handshakes_is_bounded_and_timed_out(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    config = replace(SMALL, max_pending_handshakes=3, handshake_timeout=0.5)

    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1"], config)
        try:
            await nets["node0"].wait_connected(timeout=5)
            port = nets["node0"].address[1]
            idle = [await connect(port, None) for _ in range(6)]  # TCP only, never start TLS
            results = await asyncio.gather(*(closed_by_peer(r, timeout=0.25) for r, _ in idle))
            assert sum(results) >= 3  # beyond the bound: closed at once
            results = await asyncio.gather(*(closed_by_peer(r, timeout=2) for r, _ in idle))
            assert all(results)  # the rest: after handshake_timeout
            for _, w in idle:
                abort(w)
            await _still_talks(nets["node0"], nets["node1"])
        finally:
            await stop_all(nets)

    run(scenario())
    assert _logged(caplog, "handshakes already pending")
    assert _logged(caplog, "TLS handshake with 127.0.0.1", "timed out")

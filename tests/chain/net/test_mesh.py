"""A full mesh of real nodes on 127.0.0.1: connections, ordering, de-duplication, restarts."""
from __future__ import annotations

import asyncio
from collections import defaultdict

from chain.net import Direction, Network

from .conftest import run, start_mesh, stop_all
from .pki import Pki

NAMES = ["node0", "node1", "node2", "node3"]


def test_four_nodes_form_a_full_mesh_and_keep_order_per_connection(pki: Pki) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, NAMES)
        try:
            await asyncio.gather(*(n.wait_connected(timeout=10) for n in nets.values()))
            # exactly one connection per pair: one side outbound, the other inbound
            for a in NAMES:
                for b in NAMES:
                    if a < b:
                        da, db = nets[a].status(b).direction, nets[b].status(a).direction
                        assert {da, db} == {Direction.INBOUND, Direction.OUTBOUND}
            count = 200
            for i in range(count):
                for name, net in nets.items():
                    assert sorted(net.broadcast(f"{name}:{i}".encode())) == sorted(set(NAMES) - {name})
            received: dict[str, dict[str, list[int]]] = {n: defaultdict(list) for n in NAMES}

            async def collect(name: str) -> None:
                async for msg in nets[name].messages():
                    sender, seq = msg.payload.decode().split(":")
                    assert sender == msg.node_id
                    received[name][sender].append(int(seq))
                    if sum(len(v) for v in received[name].values()) == count * (len(NAMES) - 1):
                        return

            await asyncio.gather(*(collect(n) for n in NAMES))
            for name in NAMES:
                for sender in set(NAMES) - {name}:
                    assert received[name][sender] == list(range(count))
        finally:
            await stop_all(nets)

    run(scenario())


def test_peers_can_be_added_and_removed_while_running(pki: Pki) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1", "node2"])
        try:
            n0 = nets["node0"]
            await n0.wait_connected(timeout=5)
            n0.update_peers([pki.spec("node2", nets["node2"].address[1])])  # node1 leaves the validator set
            assert n0.connected_peers() <= {"node2"} and n0.peer_ids() == {"node2"}
            await asyncio.sleep(0.3)  # node1 keeps dialling and is refused as unknown
            assert "node1" not in n0.connected_peers()
            assert nets["node1"].status("node0").connected is False
            n0.update_peers([pki.spec("node1", nets["node1"].address[1]), pki.spec("node2", nets["node2"].address[1])])
            await n0.wait_connected(timeout=5)
        finally:
            await stop_all(nets)

    run(scenario())


def test_callback_delivery_survives_a_failing_handler(pki: Pki) -> None:
    seen: list[bytes] = []

    def handler(node_id: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        seen.append(payload)

    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1"], on_message=handler)
        try:
            await nets["node0"].wait_connected(timeout=5)
            for p in (b"one", b"boom", b"two"):
                assert nets["node0"].send("node1", p)
            async with asyncio.timeout(5):
                while seen != [b"one", b"two"]:
                    await asyncio.sleep(0.01)
            assert nets["node1"].connected_peers() == {"node0"}
        finally:
            await stop_all(nets)

    run(scenario())


def test_stop_flushes_queued_messages_closes_everything_and_ends_message_iterators(pki: Pki) -> None:
    async def scenario() -> None:
        nets = await start_mesh(pki, ["node0", "node1", "node2"])
        await asyncio.gather(*(n.wait_connected(timeout=5) for n in nets.values()))
        readers = {name: asyncio.create_task(_collect(n)) for name, n in nets.items() if name != "node0"}
        assert len(nets["node0"].broadcast(b"last words")) == 2
        await nets["node0"].stop()  # queued messages are flushed before the connections close
        await asyncio.sleep(0.2)
        await stop_all(nets)
        got = await asyncio.wait_for(asyncio.gather(*readers.values()), 5)
        assert got == [[b"last words"], [b"last words"]]
        me = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not me and t.get_name().startswith("net-")
                    and not t.get_name().startswith("net-close")]
        assert leftover == []
        assert all(not n.running and n.connected_peers() == frozenset() for n in nets.values())

    async def _collect(net: Network) -> list[bytes]:
        return [m.payload async for m in net.messages()]

    run(scenario())

"""The client-port server in-process: connection limit, malformed requests, every method's argument checks."""
from __future__ import annotations

import asyncio

from chain.node.protocol import frame, read_frame
from chain.node.server import NodeServer


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def _exchange(port: int, message: object) -> object:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(frame(message))
    await writer.drain()
    reply = await read_frame(reader)
    writer.close()
    return reply


def test_connections_beyond_the_limit_are_told_busy() -> None:
    async def scenario() -> None:
        server = NodeServer({}, max_connections=2)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await _until(lambda: server.connections == 2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        reply = await read_frame(reader)
        assert reply[1] is False and reply[2][0] == "busy"
        writer.close()
        for _, w in held:
            w.close()
        await _until(lambda: server.connections == 0)
        assert (await _exchange(port, [1, "status", {}]))[1] is True  # a slot is free again
        listener.close()
        await listener.wait_closed()

    asyncio.run(scenario())


def test_bad_requests_get_codes_not_crashes() -> None:
    async def scenario() -> None:
        server = NodeServer({})
        for message, code in [
            ([1, "submit", {"ledger": "x", "transactions": "no"}], "invalid_argument"),
            ([2, "submit", {"ledger": "x", "transactions": []}], "invalid_argument"),
            ([3, "wait", {"ledger": 5}], "invalid_argument"),
            ([4, "block", {"ledger": "ghost"}], "not_found"),
            ([4, "outcomes", {"ledger": "ghost", "first": 3, "last": 2}], "invalid_argument"),
            ([4, "outcomes", {"ledger": "ghost", "first": -1, "last": 2}], "invalid_argument"),
            ([4, "headers", {"ledger": "ghost", "first": 0}], "invalid_argument"),
            ([5, "explode", {}], "unknown_method"),
            (["id", "status", {}], "bad_request"),
            ([6, "status"], "bad_request"),
        ]:
            reply = await server.dispatch(message)
            assert reply[1] is False and reply[2][0] == code, (message, reply)

    asyncio.run(scenario())

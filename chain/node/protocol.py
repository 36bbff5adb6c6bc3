"""The node's client protocol: length-prefixed canonical CBOR frames over TCP.

Request:  [request_id, method, params]      params: a map with text keys
Response: [request_id, true, result]  or  [request_id, false, [code, message]]
A frame is a 4-byte big-endian length and that many bytes; frames above
MAX_FRAME are refused and the connection closed.
"""
from __future__ import annotations

import asyncio
import socket
import struct

from chain.codec import CodecError, decode, encode

MAX_FRAME = 16 << 20
_LEN = struct.Struct(">I")


class ProtocolError(Exception):
    """A malformed or oversized frame; `code` names the problem."""

    def __init__(self, message: str, code: str = "bad_frame") -> None:
        super().__init__(message)
        self.code = code


def frame(message: object) -> bytes:
    """Encode one message as a frame."""
    body = encode(message)
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}", "too_large")
    return _LEN.pack(len(body)) + body


def parse(body: bytes) -> object:
    """Decode a frame body."""
    try:
        return decode(body, max_size=MAX_FRAME)
    except CodecError as exc:
        raise ProtocolError(f"frame is not canonical CBOR: {exc}") from None


async def read_frame(reader: asyncio.StreamReader) -> object | None:
    """The next message, or None at a clean end of stream."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError("connection closed inside a frame header") from None
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds {MAX_FRAME}", "too_large")
    try:
        return parse(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed inside a frame") from None


def recv_frame(sock: socket.socket) -> object:
    """Blocking read of one message (client side)."""
    head = _recv_exact(sock, 4)
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds {MAX_FRAME}", "too_large")
    return parse(_recv_exact(sock, size))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the node closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)

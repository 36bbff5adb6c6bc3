"""Frames: a 4-byte big-endian length, then that many payload bytes; sizes checked before any allocation."""
from __future__ import annotations

import asyncio
import struct

from chain.net.config import DEFAULT_MAX_FRAME
from chain.net.errors import ConnectionClosedError, FrameError, FrameTooLargeError, NetTimeoutError

HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size


def encode_frame(payload: bytes, max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """Header plus payload, refusing payloads above max_size."""
    if len(payload) > max_size:
        raise FrameTooLargeError(f"frame of {len(payload)} bytes exceeds the maximum of {max_size}")
    return HEADER.pack(len(payload)) + payload


def frame_parts(parts: tuple[bytes, ...], max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """One frame whose payload is the concatenation of parts (a single copy)."""
    size = sum(len(p) for p in parts)
    if size > max_size:
        raise FrameTooLargeError(f"frame of {size} bytes exceeds the maximum of {max_size}")
    return b"".join((HEADER.pack(size), *parts))


class FrameReader:
    """Reads frames from a stream: idle timeout for the header, frame timeout for the body, size limit first."""

    def __init__(self, reader: asyncio.StreamReader, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self._reader = reader
        self.max_size = max_size

    async def read(self, idle_timeout: float | None = None, frame_timeout: float | None = None) -> bytes | None:
        """The next payload, or None at a clean end of stream (between frames)."""
        try:
            async with asyncio.timeout(idle_timeout):
                head = await self._reader.readexactly(HEADER_SIZE)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            raise ConnectionClosedError("the stream ended inside a frame header") from None
        except TimeoutError:
            raise NetTimeoutError(f"no frame within {idle_timeout} s (idle or slow peer)") from None
        (size,) = HEADER.unpack(head)
        if size > self.max_size:
            raise FrameTooLargeError(f"the peer announced a frame of {size} bytes; the maximum is {self.max_size}")
        if size == 0:
            return b""
        try:
            async with asyncio.timeout(frame_timeout):
                return await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise ConnectionClosedError(f"the stream ended inside a frame ({len(exc.partial)} of {size} bytes)") from None
        except TimeoutError:
            raise NetTimeoutError(f"a frame of {size} bytes did not arrive within {frame_timeout} s (slow peer)") from None


def check_payload(payload: bytes, what: str = "payload") -> bytes:
    """bytes of a bytes-like payload, refusing other types."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    raise FrameError(f"{what} must be bytes, not {type(payload).__name__}", code="bad_payload")

"""Peers: who we expect (PeerSpec) and one authenticated connection to one of them (Connection)."""
from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from chain.ca import CAError, Certificate
from chain.net.config import NetConfig
from chain.net.errors import ConnectionClosedError, FrameError, NetConfigError, NetError
from chain.net.framing import FrameReader, encode_frame
from chain.net.sendqueue import Overflow, Priority, SendQueue
from chain.net.tls import NODE_ROLE, certificate_fingerprint
from chain.net.wire import DATA, PING

log = logging.getLogger(__name__)
PING_FRAME = encode_frame(bytes([PING]))

Deliver = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class PeerSpec:
    """An expected validator: its node id, the exact certificate it must present, and where to dial it (optional)."""

    node_id: str
    certificate: Certificate = field(repr=False)
    host: str | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not self.node_id:
            raise NetConfigError(f"a node id must be a non-empty string, not {self.node_id!r}")
        if not isinstance(self.certificate, Certificate):
            try:
                object.__setattr__(self, "certificate", Certificate.parse(self.certificate))
            except CAError as exc:
                raise NetConfigError(f"peer {self.node_id}: the certificate does not parse: {exc}") from None
        if self.certificate.role != NODE_ROLE:
            raise NetConfigError(f"peer {self.node_id}: {self.certificate} is not a node certificate")
        if (self.host is None) != (self.port is None):
            raise NetConfigError(f"peer {self.node_id}: give both host and port, or neither")
        if self.port is not None and not 0 < self.port <= 65535:
            raise NetConfigError(f"peer {self.node_id}: port {self.port} is out of range")

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the expected certificate's DER."""
        return certificate_fingerprint(self.certificate)

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to dial, or None if this peer only dials us."""
        return (self.host, self.port) if self.host is not None and self.port is not None else None


class Direction(enum.Enum):
    """Who dialled: OUTBOUND means we did."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Connection:
    """One authenticated TLS connection to a known peer: a reader task, a writer task and a bounded send queue."""

    def __init__(
        self,
        node_id: str,
        direction: Direction,
        certificate: Certificate,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        config: NetConfig,
        deliver: Deliver,
        on_closed: Callable[[Connection, str, bool], None],
    ) -> None:
        self.node_id = node_id
        self.direction = direction
        self.certificate = certificate
        self.config = config
        self.queue = SendQueue(config.send_queue_messages, config.send_queue_bytes)
        self.closed = False
        self.close_reason: str | None = None
        self._reader = FrameReader(reader, config.max_frame_size)
        self._writer = writer
        self._deliver = deliver
        self._on_closed = on_closed
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._draining = False
        self._tasks: list[asyncio.Task[None]] = []
        self._finished = asyncio.Event()
        self._closer: asyncio.Task[None] | None = None
        writer.transport.set_write_buffer_limits(high=config.write_buffer_high)

    def __repr__(self) -> str:
        return f"<Connection {self.direction.value} {self.node_id}{' closed' if self.closed else ''}>"

    def start(self) -> None:
        """Start reading and writing."""
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"net-read-{self.node_id}"),
            asyncio.create_task(self._write_loop(), name=f"net-write-{self.node_id}"),
        ]

    def send_frame(self, frame: bytes, priority: Priority = Priority.HIGH) -> bool:
        """Queue an encoded frame; False if it was dropped (closed, or a LOW message that did not fit)."""
        if self.closed or self._draining:
            return False
        outcome = self.queue.push(frame, priority)
        if outcome is Overflow.CLOSE:
            self.close(
                f"send queue full ({len(self.queue)} messages, {self.queue.bytes} bytes): the peer does not keep up",
                abort=True, error=True,
            )
            return False
        if outcome is Overflow.DROPPED:
            log.debug("dropped a low-priority message to %s: send queue full", self.node_id)
            return False
        self._idle.clear()
        self._wake.set()
        return True

    async def _read_loop(self) -> None:
        cfg = self.config
        try:
            while True:
                body = await self._reader.read(cfg.idle_timeout, cfg.frame_timeout)
                if body is None:
                    self.close("closed by the peer")
                    return
                if not body:
                    raise FrameError("empty frame (no message kind)")
                kind = body[0]
                if kind == DATA:
                    await self._deliver(self.node_id, body[1:])
                elif kind != PING:
                    raise FrameError(f"unknown message kind {kind}")
        except ConnectionClosedError as exc:
            self.close(str(exc), abort=True)
        except NetError as exc:
            self.close(f"{exc.code}: {exc}", abort=True, error=True)
        except OSError as exc:
            self.close(f"read failed: {exc!r}", abort=True)

    async def _write_loop(self) -> None:
        cfg = self.config
        try:
            while True:
                # Frames queued meanwhile go out in one write: one TLS record and one send per burst
                frames = self.queue.pop_many(cfg.write_buffer_high)
                if not frames:
                    self._idle.set()
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(cfg.keepalive_interval):
                            await self._wake.wait()
                        continue
                    except TimeoutError:
                        frames = [PING_FRAME]
                self._writer.write(b"".join(frames))  # a lone frame is passed through, not copied
                try:
                    async with asyncio.timeout(cfg.write_timeout):
                        await self._writer.drain()
                except TimeoutError:
                    self.close(f"the peer read nothing for {cfg.write_timeout} s (slow reader)", abort=True, error=True)
                    return
        except OSError as exc:
            self.close(f"write failed: {exc!r}", abort=True)

    async def drain(self, timeout: float) -> None:
        """Stop accepting messages and wait (at most timeout) until everything queued was written."""
        self._draining = True
        if self.closed:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            pass

    def close(self, reason: str, *, abort: bool = False, error: bool = False) -> None:
        """Close now (idempotent): stop both tasks, drop the queue, close (or abort) the socket, tell the owner."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self.queue.clear()
        transport = self._writer.transport
        if abort:
            transport.abort()
        else:
            self._writer.close()
        self._on_closed(self, reason, error)
        self._closer = asyncio.create_task(self._finish(), name=f"net-close-{self.node_id}")

    async def _finish(self) -> None:
        try:
            async with asyncio.timeout(self.config.close_timeout):
                await self._writer.wait_closed()
        except (TimeoutError, OSError):
            self._writer.transport.abort()
        except asyncio.CancelledError:
            self._writer.transport.abort()
            raise
        finally:
            self._finished.set()

    async def wait_closed(self) -> None:
        """Wait until the socket is closed and both tasks ended."""
        await self._finished.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

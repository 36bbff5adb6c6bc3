"""The Network: one node's authenticated full mesh of TLS connections to the other validators.

Each known peer gets at most one connection. Both sides dial; when two
connections race, the one dialled by the lower node id is kept (see
`_admit_inbound`). Messages are delivered in order per connection, at most
once; a message to a peer that is not connected is dropped (send returns False).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

from chain.ca import Certificate, CertificateVerificationError, verify_chain
from chain.crypto import CLASSIC
from chain.net.backoff import Backoff
from chain.net.config import NetConfig
from chain.net.errors import (
    NetConfigError,
    NetError,
    NetTimeoutError,
    NotRunningError,
    PeerRefusedError,
    TlsSetupError,
    UnknownPeerError,
)
from chain.net.framing import FrameReader, check_payload, encode_frame, frame_parts
from chain.net.inbox import Inbox, Message
from chain.net.peer import Connection, Direction, PeerSpec
from chain.net.sendqueue import Priority
from chain.net.tls import (
    NODE_ROLE,
    TlsIdentity,
    TrustAnchors,
    authenticate_peer,
    certificate_fingerprint,
    client_context,
    server_context,
)
from chain.net.wire import DATA_PREFIX, MAX_CONTROL_FRAME, accept_body, parse_answer, reject_body

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], "Awaitable[None] | None"]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NetError):
        return f"{exc} [{exc.code}]"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class PeerStatus:
    """A snapshot of one peer's connection state and counters."""

    node_id: str
    connected: bool
    direction: Direction | None
    queued_messages: int
    queued_bytes: int
    dropped_messages: int
    connects: int
    dial_failures: int


class _Peer:
    """Mutable per-peer state (event-loop only)."""

    def __init__(self, spec: PeerSpec, backoff: Backoff) -> None:
        self.spec = spec
        self.backoff = backoff
        self.connection: Connection | None = None
        self.disconnected = asyncio.Event()
        self.disconnected.set()
        self.dial_task: asyncio.Task[None] | None = None
        self.attempt_task: asyncio.Task[bool] | None = None
        self.connects = 0
        self.dropped = 0


class Network:
    """Listen, dial every known peer, keep one authenticated connection per peer, send and receive payloads."""

    def __init__(
        self,
        node_id: str,
        identity: TlsIdentity,
        trust: TrustAnchors,
        peers: Iterable[PeerSpec],
        config: NetConfig | None = None,
        *,
        on_message: OnMessage | None = None,
        clock: Clock | None = None,
        rand: Callable[[], float] | None = None,
        sleep: Sleep | None = None,
        key_dir: str | None = None,
    ) -> None:
        if not isinstance(node_id, str) or not node_id:
            raise NetConfigError(f"node id must be a non-empty string, not {node_id!r}")
        self.node_id = node_id
        self.identity = identity
        self.config = config or NetConfig()
        self._trust = trust
        self._on_message = on_message
        self._clock = clock or _utc_now
        self._rand = rand
        self._sleep = sleep or asyncio.sleep
        self._key_dir = key_dir
        self._running = False
        self._used = False
        self._peers: dict[str, _Peer] = {}
        self._by_fingerprint: dict[bytes, str] = {}
        self._set_peers(self._check_peers(peers))
        self._inbox = Inbox(self.config.inbox_messages, self.config.inbox_bytes)
        self._server: asyncio.Server | None = None
        self._server_ctx: ssl.SSLContext | None = None
        self._client_ctx: ssl.SSLContext | None = None
        self._handshakes: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Check our certificate, listen on config.listen_host:listen_port, and start dialling every peer."""
        if self._used:
            raise NotRunningError("a Network starts once; create a new one to restart", code="already_started")
        self._used = True
        self._check_own_certificate()
        self._build_contexts()
        cfg = self.config
        try:
            self._server = await asyncio.start_server(self._on_inbound, cfg.listen_host, cfg.listen_port)
        except OSError as exc:
            raise NetError(f"cannot listen on {cfg.listen_host}:{cfg.listen_port}: {exc}", code="listen") from None
        self._running = True
        for peer in self._peers.values():
            self._ensure_dialer(peer)
        self._watch = asyncio.create_task(self._watch_certificates(), name=f"net-watch-{self.node_id}")
        host, port = self.address
        log.info("node %s listening on %s:%d for %d peer(s)", self.node_id, host, port, len(self._peers))

    async def stop(self) -> None:
        """Stop listening and dialling, flush queues briefly (config.close_timeout), close every connection."""
        if not self._running:
            return
        self._running = False
        if self._server is not None:
            self._server.close()
        tasks: list[asyncio.Task[Any]] = [t for t in (self._watch, *self._handshakes) if t is not None]
        for peer in self._peers.values():
            tasks += [t for t in (peer.dial_task, peer.attempt_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        connections = [p.connection for p in self._peers.values() if p.connection is not None]
        await asyncio.gather(*(c.drain(self.config.close_timeout) for c in connections))
        for conn in connections:
            conn.close("the network is stopping")
        await asyncio.gather(*(c.wait_closed() for c in connections), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await self._inbox.close()
        log.info("node %s stopped", self.node_id)

    async def __aenter__(self) -> Network:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._running

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) we listen on (the real port when config.listen_port was 0)."""
        if self._server is None or not self._server.sockets:
            raise NotRunningError("the network is not listening")
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    # ----------------------------------------------------------------- sending and receiving

    def send(self, node_id: str, payload: bytes, priority: Priority = Priority.HIGH) -> bool:
        """Queue payload for one peer; False if the peer is not connected or the (LOW) message was dropped."""
        peer = self._peer(node_id)
        frame = self._frame(payload)
        conn = peer.connection
        if conn is None:
            log.debug("not connected to %s: message dropped", node_id)
            return False
        return conn.send_frame(frame, priority)

    def broadcast(self, payload: bytes, priority: Priority = Priority.HIGH) -> list[str]:
        """Queue payload for every connected peer (one shared frame); the node ids it was queued for."""
        if not self._running:
            raise NotRunningError("the network is not running")
        frame = self._frame(payload)
        return [
            node_id for node_id, peer in self._peers.items()
            if peer.connection is not None and peer.connection.send_frame(frame, priority)
        ]

    async def receive(self) -> Message:
        """The next received message (when no on_message callback was given)."""
        if self._on_message is not None:
            raise NetConfigError("messages go to the on_message callback; receive() is not available")
        return await self._inbox.get()

    async def messages(self) -> AsyncIterator[Message]:
        """Every received message until the network stops."""
        while True:
            try:
                message = await self.receive()
            except NotRunningError:
                return
            yield message

    def _frame(self, payload: bytes) -> bytes:
        if not self._running:
            raise NotRunningError("the network is not running")
        return frame_parts((DATA_PREFIX, check_payload(payload)), self.config.max_frame_size)

    async def _deliver(self, node_id: str, payload: bytes) -> None:
        if self._on_message is None:
            await self._inbox.put(Message(node_id, payload))
            return
        try:
            result = self._on_message(node_id, payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_message failed for a message from %s", node_id)

    # ----------------------------------------------------------------- peers and status

    def connected_peers(self) -> frozenset[str]:
        """Node ids with an open connection."""
        return frozenset(n for n, p in self._peers.items() if p.connection is not None)

    def peer_ids(self) -> frozenset[str]:
        """Every expected peer."""
        return frozenset(self._peers)

    def status(self, node_id: str) -> PeerStatus:
        """Connection state and counters of one peer."""
        peer = self._peer(node_id)
        conn = peer.connection
        return PeerStatus(
            node_id=node_id,
            connected=conn is not None,
            direction=conn.direction if conn is not None else None,
            queued_messages=len(conn.queue) if conn is not None else 0,
            queued_bytes=conn.queue.bytes if conn is not None else 0,
            dropped_messages=peer.dropped + (conn.queue.dropped if conn is not None else 0),
            connects=peer.connects,
            dial_failures=peer.backoff.attempt,
        )

    async def wait_connected(self, node_ids: Iterable[str] | None = None, timeout: float | None = None) -> None:
        """Wait until every given peer (default: all) is connected; NetTimeoutError after timeout seconds."""
        wanted = set(self._peers if node_ids is None else node_ids)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    missing = wanted - self.connected_peers()
                    if not missing:
                        return
                    await changed.wait()
        except TimeoutError:
            raise NetTimeoutError(f"{self.node_id}: not connected to {sorted(missing)} within {timeout} s") from None

    def update_peers(self, peers: Iterable[PeerSpec]) -> None:
        """Replace the peer list: new peers are dialled, removed ones disconnected, changed certificates reconnected."""
        specs = self._check_peers(peers)
        for node_id in [n for n in self._peers if n not in specs]:
            peer = self._peers.pop(node_id)
            self._retire(peer, "removed from the peer list")
        self._set_peers(specs)

    def update_trust(self, trust: TrustAnchors) -> None:
        """New roots, organisation CAs or CRLs: used for new handshakes, and connected peers are checked again now."""
        old, self._trust = self._trust, trust
        if self._running and (old.roots, old.intermediates) != (trust.roots, trust.intermediates):
            self._build_contexts()
        self.recheck()

    def recheck(self) -> None:
        """Verify every connected peer's certificate again (expiry, CRLs); disconnect those that fail."""
        at = self._clock()
        for peer in self._peers.values():
            conn = peer.connection
            if conn is None:
                continue
            try:
                self._trust.verify(conn.certificate, at)
            except CertificateVerificationError as exc:
                conn.close(f"the peer's certificate is no longer valid: {exc} [{exc.reason}]", error=True)

    def _peer(self, node_id: str) -> _Peer:
        peer = self._peers.get(node_id)
        if peer is None:
            raise UnknownPeerError(f"{node_id!r} is not a known peer of {self.node_id}")
        return peer

    def _check_peers(self, peers: Iterable[PeerSpec]) -> dict[str, PeerSpec]:
        specs: dict[str, PeerSpec] = {}
        seen: dict[bytes, str] = {self.identity.fingerprint: self.node_id}
        for spec in peers:
            if spec.node_id == self.node_id:
                raise NetConfigError(f"the peer list contains this node ({self.node_id}) itself")
            if spec.node_id in specs:
                raise NetConfigError(f"peer {spec.node_id} is listed twice")
            other = seen.get(spec.fingerprint)
            if other is not None:
                raise NetConfigError(f"peers {other} and {spec.node_id} have the same certificate")
            seen[spec.fingerprint] = spec.node_id
            specs[spec.node_id] = spec
        return specs

    def _set_peers(self, specs: dict[str, PeerSpec]) -> None:
        for node_id, spec in specs.items():
            peer = self._peers.get(node_id)
            if peer is None:
                peer = self._peers[node_id] = _Peer(spec, Backoff(self.config.backoff, self._rand))
            else:
                old, peer.spec = peer.spec, spec
                if old.fingerprint != spec.fingerprint and peer.connection is not None:
                    peer.connection.close("the peer's expected certificate changed")
                if old.address != spec.address:
                    self._cancel_dialer(peer)
            self._ensure_dialer(peer)
        self._by_fingerprint = {spec.fingerprint: node_id for node_id, spec in specs.items()}

    def _retire(self, peer: _Peer, reason: str) -> None:
        self._cancel_dialer(peer)
        if peer.connection is not None:
            peer.connection.close(reason)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------- certificates

    def _check_own_certificate(self) -> None:
        trust = self._trust
        try:
            verify_chain(self.identity.certificate, (*self.identity.chain, *trust.intermediates), trust.roots, trust.crls,
                         at=self._clock(), expected_role=NODE_ROLE, suite=CLASSIC)
        except CertificateVerificationError as exc:
            raise TlsSetupError(f"our own certificate does not verify: {exc}", code=exc.reason) from None

    def _build_contexts(self) -> None:
        self._server_ctx = server_context(self.identity, self._trust, key_dir=self._key_dir)
        self._client_ctx = client_context(self.identity, self._trust, key_dir=self._key_dir)

    def _authenticate(self, writer: asyncio.StreamWriter) -> Certificate:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None:
            raise PeerRefusedError("no TLS session", code="no_tls")
        return authenticate_peer(ssl_object, self._trust, self._clock()).leaf

    async def _watch_certificates(self) -> None:
        while True:
            await asyncio.sleep(self.config.recheck_interval)
            self.recheck()

    # ----------------------------------------------------------------- accepting

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        where = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        if not self._running or len(self._handshakes) >= self.config.max_pending_handshakes:
            log.warning("refusing a connection from %s: %s", where,
                        "stopping" if not self._running else f"{len(self._handshakes)} handshakes already pending")
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handshakes.add(task)
        try:
            await self._handshake(reader, writer, where)
        except asyncio.CancelledError:
            # stop() cancels pending handshakes; ending normally keeps asyncio's stream callback quiet
            writer.transport.abort()
        finally:
            self._handshakes.discard(task)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
        try:
            await self._accept(reader, writer, where)
        except PeerRefusedError as exc:
            log.warning("refused a connection from %s: %s", where, _describe(exc))
            await self._reject(writer, exc.code)
        except (OSError, TimeoutError, NetError) as exc:
            log.warning("TLS handshake with %s failed: %s", where, _describe(exc))
            writer.transport.abort()
        except Exception:
            log.exception("unexpected error while accepting a connection from %s", where)
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
        async with asyncio.timeout(self.config.handshake_timeout):
            assert self._server_ctx is not None  # set by start()
            await writer.start_tls(self._server_ctx, ssl_handshake_timeout=self.config.handshake_timeout)
        cert = self._authenticate(writer)
        node_id = self._by_fingerprint.get(certificate_fingerprint(cert))
        if node_id is None:
            raise PeerRefusedError(f"{cert} is valid but is not the certificate of any expected peer",
                                   code="unknown_certificate")
        peer = self._peers[node_id]
        refusal = self._admit_inbound(peer)
        if refusal is not None:
            log.debug("refused a duplicate connection from %s (%s): %s", node_id, where, refusal)
            await self._reject(writer, "duplicate")
            return
        writer.write(encode_frame(accept_body(), MAX_CONTROL_FRAME))
        conn = Connection(node_id, Direction.INBOUND, cert, reader, writer, self.config, self._deliver, self._connection_closed)
        self._activate(peer, conn)

    def _admit_inbound(self, peer: _Peer) -> str | None:
        """None to accept an inbound connection from peer, or why not. The connection dialled by the lower id wins.

        A new inbound connection replaces an older inbound one (the peer knows
        best that its old outbound is gone). Against our own outbound
        connection, live or still dialling, the lower node id's dial is kept.
        """
        inbound_preferred = peer.spec.node_id < self.node_id
        existing = peer.connection
        if existing is not None:
            if existing.direction is Direction.INBOUND or inbound_preferred:
                return None
            return "our outbound connection is up and is the preferred one"
        if peer.attempt_task is not None:
            if inbound_preferred:
                peer.attempt_task.cancel()
                return None
            return "we are dialling it and our dial is the preferred one"
        return None

    async def _reject(self, writer: asyncio.StreamWriter, code: str) -> None:
        try:
            writer.write(encode_frame(reject_body(code), MAX_CONTROL_FRAME))
            writer.close()
            async with asyncio.timeout(self.config.close_timeout):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass
        finally:
            writer.transport.abort()

    # ----------------------------------------------------------------- dialling

    def _ensure_dialer(self, peer: _Peer) -> None:
        if not self._running or peer.spec.address is None:
            return
        if peer.dial_task is None or peer.dial_task.done():
            peer.dial_task = asyncio.create_task(self._dial_loop(peer), name=f"net-dial-{peer.spec.node_id}")

    def _cancel_dialer(self, peer: _Peer) -> None:
        for task in (peer.dial_task, peer.attempt_task):
            if task is not None:
                task.cancel()
        peer.dial_task = None

    async def _dial_loop(self, peer: _Peer) -> None:
        retry = False
        while self._running and peer.spec.address is not None:
            await peer.disconnected.wait()
            if retry:
                delay = peer.backoff.next_delay()
                log.debug("redialling %s in %.3f s (attempt %d)", peer.spec.node_id, delay, peer.backoff.attempt)
                await self._sleep(delay)
                if not self._running or not peer.disconnected.is_set():
                    continue
            retry = True
            await self._attempt(peer)

    async def _attempt(self, peer: _Peer) -> bool:
        task = asyncio.create_task(self._dial(peer), name=f"net-connect-{peer.spec.node_id}")
        peer.attempt_task = task
        try:
            await asyncio.wait({task})
        finally:
            if peer.attempt_task is task:
                peer.attempt_task = None
            if not task.done():
                task.cancel()
        if task.cancelled():
            log.debug("dial to %s cancelled (its inbound connection won)", peer.spec.node_id)
            return False
        exc = task.exception()
        if exc is None:
            return task.result()
        self._log_dial_failure(peer, exc)
        return False

    async def _dial(self, peer: _Peer) -> bool:
        spec, cfg = peer.spec, self.config
        assert spec.address is not None
        host, port = spec.address
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                reader, writer = await asyncio.open_connection(host, port)
            async with asyncio.timeout(cfg.handshake_timeout):
                assert self._client_ctx is not None  # set by start()
                await writer.start_tls(self._client_ctx, ssl_handshake_timeout=cfg.handshake_timeout)
                cert = self._authenticate(writer)
                if certificate_fingerprint(cert) != spec.fingerprint:
                    raise PeerRefusedError(
                        f"{host}:{port} presented {cert}, not the certificate expected for {spec.node_id}",
                        code="unexpected_certificate",
                    )
                parse_answer(await FrameReader(reader, MAX_CONTROL_FRAME).read())
        except BaseException:
            if writer is not None:
                writer.transport.abort()
            raise
        conn = Connection(spec.node_id, Direction.OUTBOUND, cert, reader, writer, cfg, self._deliver, self._connection_closed)
        return self._activate(peer, conn)

    def _log_dial_failure(self, peer: _Peer, exc: BaseException) -> None:
        spec = peer.spec
        if isinstance(exc, PeerRefusedError) and exc.code == "duplicate":
            log.debug("dial to %s refused as a duplicate (its own dial is preferred)", spec.node_id)
        elif isinstance(exc, (PeerRefusedError, ssl.SSLError)):
            log.warning("connection to %s at %s:%s refused: %s", spec.node_id, spec.host, spec.port, _describe(exc))
        else:
            level = logging.INFO if peer.backoff.attempt == 0 else logging.DEBUG
            log.log(level, "cannot connect to %s at %s:%s: %s", spec.node_id, spec.host, spec.port, _describe(exc))

    # ----------------------------------------------------------------- connection state

    def _activate(self, peer: _Peer, conn: Connection) -> bool:
        node_id = conn.node_id
        if not self._running or self._peers.get(node_id) is not peer:
            conn.close("the network is stopping or the peer was removed")
            return False
        existing = peer.connection
        if existing is not None and conn.direction is Direction.OUTBOUND and existing.direction is Direction.INBOUND \
                and peer.spec.node_id < self.node_id:
            conn.close("duplicate: the peer's inbound connection is preferred")
            return False
        peer.connection = conn
        peer.disconnected.clear()
        peer.backoff.reset()
        peer.connects += 1
        if existing is not None:
            existing.close("superseded by a newer connection")
        conn.start()
        log.info("node %s connected to %s (%s, %s)", self.node_id, node_id, conn.direction.value, conn.certificate.subject)
        self._notify()
        return True

    def _connection_closed(self, conn: Connection, reason: str, error: bool) -> None:
        peer = self._peers.get(conn.node_id)
        if peer is not None:
            peer.dropped += conn.queue.dropped
        if peer is None or peer.connection is not conn:
            log.debug("closed a %s connection to %s: %s", conn.direction.value, conn.node_id, reason)
            return
        peer.connection = None
        peer.disconnected.set()
        log.log(logging.WARNING if error else logging.INFO, "node %s disconnected from %s (%s): %s",
                self.node_id, conn.node_id, conn.direction.value, reason)
        self._notify()

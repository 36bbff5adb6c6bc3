"""Authenticated P2P transport between consensus nodes: TLS 1.3 mutual auth with node certificates, framed messages.

Quick tour:
    identity = TlsIdentity.load("tls/node.pem", "tls/node.key", password)      # leaf + org CA, P-256 key
    trust = TrustAnchors.load(["tls/root.pem"], "tls/orgs/")                   # roots, known org CAs (, CRLs)
    peers = [PeerSpec("node1", node1_cert, "10.0.0.2", 7600), ...]             # who may connect, where to dial
    net = Network("node0", identity, trust, peers, NetConfig(listen_port=7600), on_message=handle)
    await net.start(); net.broadcast(b"..."); net.send("node1", b"..."); await net.stop()
See docs/net.md for the channel, framing, limits, backoff and failure behaviour.
"""
from __future__ import annotations

from chain.net.backoff import Backoff
from chain.net.config import DEFAULT_MAX_FRAME, BackoffConfig, NetConfig
from chain.net.errors import (
    ConnectionClosedError,
    FrameError,
    FrameTooLargeError,
    NetConfigError,
    NetError,
    NetTimeoutError,
    NotRunningError,
    PeerRefusedError,
    TlsSetupError,
    UnknownPeerError,
)
from chain.net.framing import FrameReader, encode_frame
from chain.net.inbox import Inbox, Message
from chain.net.network import Network, PeerStatus
from chain.net.peer import Direction, PeerSpec
from chain.net.sendqueue import Overflow, Priority, SendQueue
from chain.net.tls import (
    TlsIdentity,
    TrustAnchors,
    authenticate_peer,
    certificate_fingerprint,
    client_context,
    peer_certificate,
    server_context,
)

__all__ = [
    "DEFAULT_MAX_FRAME",
    "Backoff",
    "BackoffConfig",
    "ConnectionClosedError",
    "Direction",
    "FrameError",
    "FrameReader",
    "FrameTooLargeError",
    "Inbox",
    "Message",
    "NetConfig",
    "NetConfigError",
    "NetError",
    "NetTimeoutError",
    "Network",
    "NotRunningError",
    "Overflow",
    "PeerRefusedError",
    "PeerSpec",
    "PeerStatus",
    "Priority",
    "SendQueue",
    "TlsIdentity",
    "TlsSetupError",
    "TrustAnchors",
    "UnknownPeerError",
    "authenticate_peer",
    "certificate_fingerprint",
    "client_context",
    "encode_frame",
    "peer_certificate",
    "server_context",
]

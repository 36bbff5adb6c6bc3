"""What travels inside a frame: one kind byte, then the kind's body.

After the TLS handshake the accepting side sends ACCEPT (protocol version) or
REJECT (a reason code) as its first frame; only then does application data
flow. DATA carries an application payload; PING keeps an idle connection alive.
"""
from __future__ import annotations

from chain.net.errors import FrameError, PeerRefusedError

PROTOCOL_VERSION = 1
DATA = 0x00
PING = 0x01
ACCEPT = 0x02
REJECT = 0x03
DATA_PREFIX = bytes([DATA])
MAX_CONTROL_FRAME = 256  # ACCEPT / REJECT bodies are tiny; a larger first frame is refused


def accept_body() -> bytes:
    """The ACCEPT message."""
    return bytes([ACCEPT, PROTOCOL_VERSION])


def reject_body(code: str) -> bytes:
    """A REJECT message naming why (a short ASCII code)."""
    return bytes([REJECT]) + code.encode("ascii", "replace")[: MAX_CONTROL_FRAME - 1]


def parse_answer(body: bytes | None) -> None:
    """Check the acceptor's first frame: return on ACCEPT of our version, raise PeerRefusedError otherwise."""
    if body is None:
        raise PeerRefusedError("the peer closed the connection after the TLS handshake (it refused our certificate?)",
                               code="refused_by_peer")
    if not body:
        raise FrameError("empty first frame from the peer")
    if body[0] == REJECT:
        reason = body[1:].decode("ascii", "replace") or "unspecified"
        code = "duplicate" if reason == "duplicate" else "refused_by_peer"
        raise PeerRefusedError(f"the peer refused the connection: {reason}", code=code)
    if body[0] != ACCEPT or len(body) != 2:
        raise FrameError(f"expected ACCEPT or REJECT as the first frame, got kind {body[0]} ({len(body)} bytes)")
    if body[1] != PROTOCOL_VERSION:
        raise PeerRefusedError(f"the peer speaks protocol version {body[1]}, we speak {PROTOCOL_VERSION}", code="version")

"""Exception hierarchy of chain.net; every error carries a stable `code`."""
from __future__ import annotations


class NetError(Exception):
    """Base of all transport errors; `code` is stable and safe to log or show."""

    code = "net_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NetConfigError(NetError):
    """A configuration value, identity or peer list that cannot work."""

    code = "config"


class TlsSetupError(NetError):
    """Our own certificate, key or trust anchors cannot build a TLS context."""

    code = "tls_setup"


class PeerRefusedError(NetError):
    """A peer failed authentication or admission; `code` names why (a chain.ca reason or one of ours)."""

    code = "peer_refused"


class FrameError(NetError):
    """Bytes on the wire that are not a valid frame of this protocol."""

    code = "bad_frame"


class FrameTooLargeError(FrameError):
    """A frame above the configured maximum size (refused before its body is read)."""

    code = "too_large"


class ConnectionClosedError(NetError):
    """The connection ended (cleanly or not) before the operation finished."""

    code = "closed"


class NetTimeoutError(NetError):
    """A peer was idle or too slow for a configured timeout."""

    code = "timeout"


class NotRunningError(NetError):
    """The network is not started, or already stopped."""

    code = "not_running"


class UnknownPeerError(NetError):
    """A node id that is not in the peer list."""

    code = "unknown_peer"

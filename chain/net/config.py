"""Transport configuration: frozen dataclasses with production defaults."""
from __future__ import annotations

from dataclasses import dataclass, field

from chain.net.errors import NetConfigError

MIB = 1 << 20
DEFAULT_MAX_FRAME = 16 * MIB


@dataclass(frozen=True)
class BackoffConfig:
    """Reconnect delays: base * factor**attempt, capped at maximum, scaled by a random factor in [1 - jitter, 1]."""

    base: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.factor >= 1 and self.maximum >= self.base and 0 <= self.jitter <= 1):
            raise NetConfigError(f"invalid backoff {self}: need base > 0, factor >= 1, maximum >= base, 0 <= jitter <= 1")


@dataclass(frozen=True)
class NetConfig:
    """Listen address, size limits, queue bounds and timeouts (seconds) of one node's transport."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    max_frame_size: int = DEFAULT_MAX_FRAME
    send_queue_messages: int = 10_000
    send_queue_bytes: int = 64 * MIB
    inbox_messages: int = 10_000
    inbox_bytes: int = 64 * MIB
    write_buffer_high: int = 256 * 1024
    connect_timeout: float = 10.0
    handshake_timeout: float = 10.0
    idle_timeout: float = 30.0
    keepalive_interval: float = 10.0
    frame_timeout: float = 60.0
    write_timeout: float = 30.0
    close_timeout: float = 2.0
    max_pending_handshakes: int = 64
    recheck_interval: float = 60.0
    backoff: BackoffConfig = field(default_factory=BackoffConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.max_frame_size <= 0xFFFFFFFF:
            raise NetConfigError("max_frame_size must be between 1 and 2**32 - 1")
        if self.send_queue_bytes < self.max_frame_size or self.inbox_bytes < 1:
            raise NetConfigError("send_queue_bytes must hold at least one maximum-size frame")
        if min(self.send_queue_messages, self.inbox_messages, self.max_pending_handshakes, self.write_buffer_high) < 1:
            raise NetConfigError("queue, inbox and handshake bounds must be positive")
        timeouts = (self.connect_timeout, self.handshake_timeout, self.idle_timeout, self.keepalive_interval,
                    self.frame_timeout, self.write_timeout, self.close_timeout, self.recheck_interval)
        if min(timeouts) <= 0:
            raise NetConfigError("timeouts must be positive")
        if self.keepalive_interval >= self.idle_timeout:
            raise NetConfigError("keepalive_interval must be shorter than idle_timeout, or idle peers are dropped")
        if not 0 <= self.listen_port <= 65535:
            raise NetConfigError(f"listen_port {self.listen_port} is out of range")

    @property
    def max_payload_size(self) -> int:
        """The largest application payload: the frame minus its 1-byte message kind."""
        return self.max_frame_size - 1

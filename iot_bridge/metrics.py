"""Prometheus metrics of the bridge, in their own CollectorRegistry (several bridges may share a process in tests)."""
from __future__ import annotations

from typing import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "BridgeMetrics"]

_QUEUED = ("pending", "submitted")  # iot_bridge.outbox statuses not settled yet


class BridgeMetrics:
    """Counters and gauges named iot_bridge_*; gauges backed by callbacks are read at scrape time."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("iot_bridge_received", "MQTT messages received from the broker", registry=r)
        self.accepted = Counter("iot_bridge_accepted", "Messages stored in the outbox", registry=r)
        self.duplicates = Counter("iot_bridge_duplicates", "Redeliveries and device retries already stored", registry=r)
        self.refused = Counter("iot_bridge_refused", "Messages refused, by reason", ["reason"], registry=r)
        self.gaps = Counter("iot_bridge_sequence_gaps", "Sequence numbers skipped by devices", registry=r)
        self.intake_errors = Counter("iot_bridge_intake_errors", "Batches the outbox could not store (retried)", registry=r)
        self.broker_connects = Counter("iot_bridge_broker_connects", "Successful connections to the broker", registry=r)
        self.batch_size = Histogram(
            "iot_bridge_intake_batch_size", "Messages per group commit", registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )
        self.intake_seconds = Histogram(
            "iot_bridge_intake_seconds", "Time from MQTT receipt to broker acknowledgement", registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.connected = Gauge("iot_bridge_broker_connected", "1 while connected to the broker", registry=r)
        self.queued = Gauge("iot_bridge_queued", "Outbox events not yet committed on chain", registry=r)
        self.committed = Gauge("iot_bridge_committed", "Outbox events whose transaction committed on chain", registry=r)
        self.refused_on_chain = Gauge("iot_bridge_refused_on_chain", "Outbox events the mapper or contract refused",
                                      registry=r)
        self.lag_seconds = Gauge("iot_bridge_lag_seconds", "Age of the oldest event not yet committed", registry=r)

    def bind_outbox(self, counts: Callable[[], Mapping[str, int]], lag_ms: Callable[[], float | int | None]) -> None:
        """Read queued/lag from the outbox at each scrape."""
        self.queued.set_function(lambda: float(sum(n for status, n in counts().items() if status in _QUEUED)))
        self.committed.set_function(lambda: float(counts().get("committed", 0)))
        self.refused_on_chain.set_function(lambda: float(counts().get("refused", 0)))
        self.lag_seconds.set_function(lambda: float(lag_ms() or 0) / 1000.0)

    def count_verdict(self, status: str, reason: str, gap: int = 0) -> None:
        if status == "accepted":
            self.accepted.inc()
        elif status == "duplicate":
            self.duplicates.inc()
        else:
            self.refused.labels(reason=reason or "unknown").inc()
        if gap > 0:
            self.gaps.inc(gap)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

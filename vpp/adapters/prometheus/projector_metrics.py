"""Prometheus metrics of one projector process (its own registry; the scrape adds the
instance), implementing :class:`vpp.application.ports.ProjectorMetrics`.  Served with
:func:`vpp.adapters.prometheus.http.serve_ops`.

Per projection and partition: ``telemetry-p3`` is ``projection="telemetry",
partition="3"``; an unpartitioned telemetry, commands and acks have ``partition="all"``.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge

WHOLE = "all"


def labels(projection: str) -> tuple[str, str]:
    """(projection, partition) of a projection's name."""
    name, sep, part = projection.rpartition("-p")
    return (name, part) if sep and part.isdigit() else (projection, WHOLE)


class PrometheusProjectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, by = self.registry, ["projection", "partition"]
        self.batches = Counter(
            "vpp_projector_batches", "Committed projection transactions", by, registry=r
        )
        self.items = Counter("vpp_projector_items", "Items committed", by, registry=r)
        self.dead_letters = Counter(
            "vpp_projector_dead_letters",
            "Messages (or their refused items) sent to the dead-letter subject",
            by,
            registry=r,
        )
        self.lag = Gauge(
            "vpp_projector_lag_messages",
            "Stream's last sequence minus the projection's committed sequence",
            by,
            registry=r,
        )
        self.pending = Gauge(
            "vpp_projector_pending_messages",
            "Messages the projection's consumer has not delivered yet (num_pending)",
            by,
            registry=r,
        )
        self.partitions_owned = Gauge(
            "vpp_projector_partitions_owned",
            "Telemetry partitions this process projects",
            registry=r,
        )
        self.partitions = Gauge(
            "vpp_projector_partitions", "Telemetry partitions in all", registry=r
        )
        self.main_owned = Gauge(
            "vpp_projector_main_owned",
            "1 if this process projects commands and acks and rolls telemetry up",
            registry=r,
        )

    def count_batch(self, projection: str, items: int) -> None:
        self.batches.labels(*labels(projection)).inc()
        self.items.labels(*labels(projection)).inc(items)

    def count_dead_letter(self, projection: str) -> None:
        self.dead_letters.labels(*labels(projection)).inc()

    def set_position(self, projection: str, lag: int, pending: int) -> None:
        self.lag.labels(*labels(projection)).set(lag)
        self.pending.labels(*labels(projection)).set(pending)

    def set_partitions_owned(self, owned: int, total: int) -> None:
        self.partitions_owned.set(owned)
        self.partitions.set(total)

    def set_main_owned(self, owned: bool) -> None:
        self.main_owned.set(1 if owned else 0)

    def forget(self, projection: str) -> None:
        for gauge in (self.lag, self.pending):
            with contextlib.suppress(KeyError):
                gauge.remove(*labels(projection))

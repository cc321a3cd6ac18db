"""Prometheus metrics of one projector process (its own registry, labelled with its
instance), implementing :class:`vpp.application.ports.ProjectorMetrics`.  Served with
:func:`vpp.adapters.prometheus.http.serve_ops`."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge


class PrometheusProjectorMetrics:
    def __init__(self, instance: str, registry: CollectorRegistry | None = None) -> None:
        self.instance = instance
        self.registry = registry or CollectorRegistry()
        r, by = self.registry, ["instance", "projection"]
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
            ["instance"],
            registry=r,
        )
        self.partitions = Gauge(
            "vpp_projector_partitions", "Telemetry partitions in all", ["instance"], registry=r
        )
        self.main_owned = Gauge(
            "vpp_projector_main_owned",
            "1 if this process projects commands and acks and rolls telemetry up",
            ["instance"],
            registry=r,
        )

    def count_batch(self, projection: str, items: int) -> None:
        self.batches.labels(self.instance, projection).inc()
        self.items.labels(self.instance, projection).inc(items)

    def count_dead_letter(self, projection: str) -> None:
        self.dead_letters.labels(self.instance, projection).inc()

    def set_position(self, projection: str, lag: int, pending: int) -> None:
        self.lag.labels(self.instance, projection).set(lag)
        self.pending.labels(self.instance, projection).set(pending)

    def set_partitions_owned(self, owned: int, total: int) -> None:
        self.partitions_owned.labels(self.instance).set(owned)
        self.partitions.labels(self.instance).set(total)

    def set_main_owned(self, owned: bool) -> None:
        self.main_owned.labels(self.instance).set(1 if owned else 0)

    def forget(self, projection: str) -> None:
        for gauge in (self.lag, self.pending):
            with contextlib.suppress(KeyError):
                gauge.remove(self.instance, projection)

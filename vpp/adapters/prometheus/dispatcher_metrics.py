"""Prometheus metrics of one dispatcher process (its own registry, so several dispatchers
can live in one test process), implementing :class:`vpp.application.ports.DispatcherMetrics`.
Served with ``/healthz`` and ``/readyz`` by :func:`vpp.adapters.prometheus.http.serve_ops`.

Every series carries ``dispatcher=<instance>`` (Prometheus keeps ``instance`` for the
scrape target), so the leader and its followers can be told apart on one dashboard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CYCLE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


class PrometheusDispatcherMetrics:
    def __init__(self, instance: str, registry: CollectorRegistry | None = None) -> None:
        self.instance = instance
        self.registry = registry or CollectorRegistry()
        r, who = self.registry, ["dispatcher"]
        self.cycle = Histogram(
            "vpp_dispatcher_cycle_seconds",
            "Time one leading cycle took (every open dispatch once)",
            who,
            buckets=CYCLE_BUCKETS,
            registry=r,
        ).labels(instance)
        self.commands = Counter(
            "vpp_dispatcher_commands_sent", "Setpoint commands sent", who, registry=r
        ).labels(instance)
        self.leader = Gauge(
            "vpp_dispatcher_leader", "1 while this dispatcher leads, else 0", who, registry=r
        ).labels(instance)
        self.epoch = Gauge(
            "vpp_dispatcher_epoch",
            "The fencing epoch this dispatcher last knew (its own while it leads)",
            who,
            registry=r,
        ).labels(instance)
        self.tracking_error = Gauge(
            "vpp_dispatcher_tracking_error_kw",
            "An open dispatch's measured minus target power",
            ["dispatcher", "dispatch_id"],
            registry=r,
        )
        self.in_band = Gauge(
            "vpp_dispatcher_in_band_share",
            "Share of the current interval's judged samples within the tracking band",
            ["dispatcher", "dispatch_id"],
            registry=r,
        )
        self._dispatches: set[str] = set()
        self.leader.set(0)

    def observe_cycle(self, seconds: float) -> None:
        self.cycle.observe(seconds)

    def count_commands(self, n: int) -> None:
        self.commands.inc(n)

    def set_leader(self, leading: bool, epoch: int) -> None:
        self.leader.set(1 if leading else 0)
        self.epoch.set(epoch)

    def set_tracking(self, dispatch_id: str, error_w: float, in_band: float | None) -> None:
        self._dispatches.add(dispatch_id)
        self.tracking_error.labels(self.instance, dispatch_id).set(error_w / 1000.0)
        if in_band is not None:
            self.in_band.labels(self.instance, dispatch_id).set(in_band)

    def keep_dispatches(self, dispatch_ids: Iterable[str]) -> None:
        keep = set(dispatch_ids)
        for gone in self._dispatches - keep:
            for gauge in (self.tracking_error, self.in_band):
                with contextlib.suppress(KeyError):  # never had a sample
                    gauge.remove(self.instance, gone)
        self._dispatches &= keep

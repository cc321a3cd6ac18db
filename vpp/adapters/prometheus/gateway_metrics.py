"""Prometheus metrics of one gateway process (its own registry, so several gateways can
live in one test process), implementing :class:`vpp.application.ports.GatewayMetrics`.
Served on ``/metrics`` by :class:`MetricsEndpoint`, a service of the gateway."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from vpp.adapters.prometheus.http import OpsEndpoint, Readiness, serve_ops

POLL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3600.0)


class PrometheusGatewayMetrics:
    def __init__(self, gateway_id: str, registry: CollectorRegistry | None = None) -> None:
        self.gateway_id = gateway_id
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.poll_latency = Histogram(
            "vpp_gateway_poll_seconds", "Time to read one device", buckets=POLL_BUCKETS, registry=r
        )
        self.cycle_latency = Histogram(
            "vpp_gateway_cycle_seconds",
            "Time from a poll cycle's start until all its devices were read",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.publish_lag = Histogram(
            "vpp_gateway_publish_lag_seconds",
            "Time from buffering a telemetry batch until JetStream acknowledged it",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.buffer_depth = Gauge(
            "vpp_gateway_buffer_readings", "Readings waiting in the local store", registry=r
        )
        self.buffer_bytes = Gauge(
            "vpp_gateway_buffer_bytes", "Bytes waiting in the local store", registry=r
        )
        self.buffer_dropped = Counter(
            "vpp_gateway_buffer_dropped_readings",
            "Readings dropped because the local store reached its bound (oldest first)",
            registry=r,
        )
        self.readings = Counter("vpp_gateway_readings", "Readings produced", ["der_id"], registry=r)
        self.device_healthy = Gauge(
            "vpp_gateway_device_healthy", "1 if the device answers", ["der_id"], registry=r
        )
        self.device_errors = Counter(
            "vpp_gateway_device_errors", "Failed device operations", ["der_id"], registry=r
        )
        self.commands = Counter("vpp_gateway_commands", "Command outcomes", ["outcome"], registry=r)
        self.nats_refusals = Counter(
            "vpp_gateway_nats_refusals",
            "What the NATS server refused this gateway (permission, authorization)",
            ["kind"],
            registry=r,
        )
        self.refused = Counter(
            "vpp_gateway_commands_refused",
            "Commands refused before the command rules (signature, replay): never applied",
            ["reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            "vpp_gateway_dead_letters", "Undecodable command messages", registry=r
        )
        self.reverted = Counter(
            "vpp_gateway_reverted", "Devices returned to their default mode", ["reason"], registry=r
        )
        self.uplink_up = Gauge("vpp_gateway_uplink_up", "1 if NATS is connected", registry=r)

    # the port ---------------------------------------------------------------------------
    def observe_poll(self, seconds: float) -> None:
        self.poll_latency.observe(seconds)

    def observe_cycle(self, seconds: float) -> None:
        self.cycle_latency.observe(seconds)

    def observe_publish_lag(self, seconds: float) -> None:
        self.publish_lag.observe(seconds)

    def set_buffer(self, readings: int, size_bytes: int) -> None:
        self.buffer_depth.set(readings)
        self.buffer_bytes.set(size_bytes)

    def count_buffer_dropped(self, readings: int) -> None:
        self.buffer_dropped.inc(readings)

    def count_readings(self, der_id: str, n: int = 1) -> None:
        self.readings.labels(der_id).inc(n)

    def set_device_healthy(self, der_id: str, healthy: bool) -> None:
        self.device_healthy.labels(der_id).set(1 if healthy else 0)

    def count_device_error(self, der_id: str) -> None:
        self.device_errors.labels(der_id).inc()

    def count_command(self, outcome: str) -> None:
        self.commands.labels(outcome).inc()

    def count_refused(self, reason: str) -> None:
        self.refused.labels(reason).inc()

    def count_nats_refusal(self, kind: str) -> None:
        self.nats_refusals.labels(kind).inc()

    def count_dead_letter(self) -> None:
        self.dead_letters.inc()

    def count_reverted(self, reason: str) -> None:
        self.reverted.labels(reason).inc()

    def set_uplink_up(self, up: bool) -> None:
        self.uplink_up.set(1 if up else 0)


class MetricsEndpoint:
    """``/metrics``, ``/healthz`` and ``/readyz`` of the gateway (one of its services),
    served by :func:`vpp.adapters.prometheus.http.serve_ops`."""

    def __init__(
        self,
        metrics: PrometheusGatewayMetrics,
        host: str,
        port: int,
        ready: Readiness | None = None,
    ) -> None:
        self.metrics, self.host, self.port = metrics, host, port
        self.ready = ready
        self._ops: OpsEndpoint | None = None

    async def start(self) -> None:
        self._ops = serve_ops(self.host, self.port, self.metrics.registry, self.ready)
        self.port = self._ops.port

    async def close(self) -> None:
        if self._ops is not None:
            self._ops.stop()
            self._ops = None

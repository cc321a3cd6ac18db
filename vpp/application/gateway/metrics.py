"""Prometheus metrics of one gateway process (its own registry, so several gateways can
live in one test process).  Served on ``/metrics`` by the composition root."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

POLL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3600.0)


class GatewayMetrics:
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
        self.dead_letters = Counter(
            "vpp_gateway_dead_letters", "Undecodable command messages", registry=r
        )
        self.reverted = Counter(
            "vpp_gateway_reverted", "Devices returned to their default mode", ["reason"], registry=r
        )
        self.uplink_up = Gauge("vpp_gateway_uplink_up", "1 if NATS is connected", registry=r)


class MetricsEndpoint:
    """``/metrics`` over HTTP for one registry (a service of the gateway)."""

    def __init__(self, metrics: GatewayMetrics, host: str, port: int) -> None:
        self.metrics, self.host, self.port = metrics, host, port
        self._server: object | None = None
        self._thread: object | None = None

    async def start(self) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(
            self.port, addr=self.host, registry=self.metrics.registry
        )
        self.port = int(self._server.server_port)  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # type: ignore[attr-defined]
            self._server.server_close()  # type: ignore[attr-defined]
            self._server = None

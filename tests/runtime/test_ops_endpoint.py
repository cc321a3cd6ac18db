"""The ops endpoint every long-running process serves: /metrics, /healthz, /readyz."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry, Counter

from vpp.adapters.prometheus.http import serve_ops


def test_metrics_health_and_readiness_over_http() -> None:
    registry = CollectorRegistry()
    Counter("vpp_test_things", "things", registry=registry).inc(3)
    state: dict[str, str | None] = {"reason": "not connected to NATS"}
    ops = serve_ops("127.0.0.1", 0, registry, lambda: state["reason"])
    try:
        with httpx.Client(base_url=ops.url, timeout=5) as http:
            assert "vpp_test_things_total 3.0" in http.get("/metrics").text
            assert http.get("/healthz").json() == {"status": "alive"}
            not_ready = http.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["reason"] == "not connected to NATS"
            state["reason"] = None
            assert http.get("/readyz").status_code == 200
            assert http.get("/nothing").status_code == 404
    finally:
        ops.stop()


def test_a_failing_probe_is_not_ready_and_the_server_lives_on() -> None:
    def broken() -> str | None:
        raise RuntimeError("store handle gone")

    ops = serve_ops("127.0.0.1", 0, CollectorRegistry(), broken)
    try:
        resp = httpx.get(f"{ops.url}/readyz", timeout=5)
        assert resp.status_code == 503 and "store handle gone" in resp.json()["reason"]
        assert httpx.get(f"{ops.url}/healthz", timeout=5).status_code == 200
    finally:
        ops.stop()

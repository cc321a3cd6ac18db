"""Request body bound (413 problem) and per-route request metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from vpp.bootstrap import build_api


def test_large_bodies_are_refused_and_requests_counted(sqlite_url: str) -> None:
    app = build_api(sqlite_url)
    try:
        with TestClient(app) as client:
            r = client.post(
                "/v1/admin/plants",
                content=b"[" + b"0," * 1_500_000 + b"0]",
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 413
            assert r.headers["content-type"] == "application/problem+json"
            assert "limited to" in r.json()["detail"]
            assert client.get("/v1/plants/p1").status_code == 401
            assert client.get("/v1/plants/p2").status_code == 401
        text = generate_latest(app.state.metrics_registry).decode()
        assert (
            'vpp_api_requests_total{method="GET",route="/v1/plants/{plant_id}",status="401"} 2.0'
            in text
        )
    finally:
        app.state.engine.dispose()

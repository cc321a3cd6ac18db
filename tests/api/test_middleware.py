"""Request body bound (413 problem) and per-route request metrics."""

from __future__ import annotations

from collections.abc import Iterator

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

            def chunks() -> Iterator[bytes]:  # streamed: no Content-Length to go by
                yield b"["
                for _ in range(300):
                    yield b"0," * 5_000
                yield b"0]"

            streamed = client.post(
                "/v1/admin/plants", content=chunks(), headers={"content-type": "application/json"}
            )
            assert streamed.status_code == 413, streamed.text
            assert streamed.headers["content-type"] == "application/problem+json"
            small = client.post(
                "/v1/admin/plants",
                content=iter([b"{", b"}"]),
                headers={"content-type": "application/json"},
            )
            assert small.status_code == 401  # read whole, handed on: the key is checked next
            assert client.get("/v1/plants/p1").status_code == 401
            assert client.get("/v1/plants/p2").status_code == 401
        text = generate_latest(app.state.metrics_registry).decode()
        assert (
            'vpp_api_requests_total{method="GET",route="/v1/plants/{plant_id}",status="401"} 2.0'
            in text
        )
    finally:
        app.state.engine.dispose()

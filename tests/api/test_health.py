"""``/healthz`` and ``/readyz`` of the API, on its own port and on ``--metrics-port``;
``vpp api --log-format json`` logs JSON lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.harness.wait import wait_until
from vpp.adapters.nats.server import free_port
from vpp.bootstrap import build_api
from vpp.runtime import stop_process


def _take_the_file_away(app: object, db: Path) -> None:
    app.state.engine.dispose()  # type: ignore[attr-defined]
    db.unlink()
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    db.mkdir()


def test_readyz_is_a_503_problem_while_the_store_is_away(tmp_path: Path) -> None:
    db = tmp_path / "vpp.sqlite"
    app = build_api(f"sqlite:///{db}")
    app.state.store_probe.fresh_s = 0.0  # no cached answer in this test
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        _take_the_file_away(app, db)
        r = client.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "urn:vpp:problem:not-ready"
        assert "store unavailable" in r.json()["detail"]
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()
    shutil.rmtree(db)


def test_vpp_api_serves_ops_on_the_metrics_port_and_logs_json(tmp_path: Path) -> None:
    port, ops_port, log = free_port(), free_port(), tmp_path / "api.log"
    args = ["api", "--db", f"sqlite:///{tmp_path / 'vpp.sqlite'}", "--port", str(port)]
    args += ["--metrics-port", str(ops_port), "--log-format", "json", "--instance", "api-2"]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vpp", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "VPP_DATA_DIR": str(tmp_path)},
        )
    try:

        def ready(url: str) -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(lambda: ready(f"http://127.0.0.1:{port}/readyz"), 30, what=log.read_text)
        ops = f"http://127.0.0.1:{ops_port}"
        assert ready(f"{ops}/readyz") and ready(f"{ops}/healthz")
        assert "vpp_api_requests" in httpx.get(f"{ops}/metrics", timeout=2).text
    finally:
        assert stop_process(proc) == 0, log.read_text()
    records = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    assert records and all(r["instance"] == "api-2" for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records), records

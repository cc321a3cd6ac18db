"""``vpp api`` as a real process on a loopback port, called over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.harness.wait import wait_until
from vpp.adapters.nats.server import free_port


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_vpp_api_serves_over_http(tmp_path: Path, stop: signal.Signals) -> None:
    db = f"sqlite:///{tmp_path / 'vpp.sqlite'}"
    vpp = [str(Path(sys.executable).parent / "vpp")]  # the console script of this venv
    issued = subprocess.run(
        [*vpp, "api", "--db", db, "--issue-key", "acme"], capture_output=True, text=True, timeout=60
    )
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    assert key.startswith("vpp_")
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen(
        [*vpp, "api", "--db", db, "--port", str(port), "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        answers: list[httpx.Response] = []

        def serving() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                answers.append(httpx.get(f"{base}/openapi.json", timeout=1))
            except httpx.TransportError:
                return False
            return True

        wait_until(serving, 60, 0.2, what="vpp api did not start")
        spec = answers[-1]
        assert "/v1/plants/{plant_id}/dispatches" in spec.json()["paths"]
        assert httpx.get(f"{base}/v1/plants").status_code == 401
        r = httpx.get(f"{base}/v1/plants", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json() == {"items": [], "next_after": None}
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'vpp_api_requests_total{method="GET",route="/v1/plants",status="200"} 1.0' in metrics
    finally:
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out

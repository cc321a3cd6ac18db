"""A small vpp stack scraped by a real Prometheus, for the tests of ``deploy/``.

SunSpec simulators and the gateway run in the test process (the gateway serves /metrics
from its ``metrics.port``); projector, dispatcher and API run as ``vpp`` processes (the
playground's :class:`Supervisor`).  Every process whose CLI offers ``--metrics-port`` is
started with one and scraped, so a process that gains metrics is scraped without a change
here.  Prometheus loads deploy's alert rules and scrapes every second.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.harness.gateway import make_config, running
from tests.harness.signing import CommandKeys
from tests.harness.sunspec_fleet import SunSpecFleet, start_sunspec_fleet
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.server import free_port
from vpp.adapters.prometheus.server import JOBS, PrometheusProcess, Target, start_prometheus
from vpp.bootstrap import BuiltGateway, build_gateway
from vpp.bootstrap.demo import register_demo
from vpp.bootstrap.processes import Supervisor, http_ok
from vpp.bootstrap.store import upgrade_store
from vpp.domain import DerKind

GATEWAY_ID = "gw-prom"
KINDS = {DerKind.PV: 1, DerKind.BATTERY: 2}


@dataclass
class ObservedStack:
    fleet: SunSpecFleet
    gateway: BuiltGateway
    sup: Supervisor
    prometheus: PrometheusProcess
    api_url: str
    api_key: str
    plant_ids: list[str]
    targets: list[Target] = field(default_factory=list)

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query (raises on a PromQL error)."""
        async with httpx.AsyncClient(base_url=self.prometheus.url, timeout=10) as client:
            resp = await client.get("/api/v1/query", params={"query": expr})
        body = resp.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def get(self, path: str) -> Any:
        async with httpx.AsyncClient(base_url=self.prometheus.url, timeout=10) as client:
            return (await client.get(path)).json()["data"]


def offers_metrics_port(command: str) -> bool:
    """Whether ``vpp <command>`` has a ``--metrics-port`` option (asked of its --help)."""
    out = subprocess.run(
        [sys.executable, "-m", "vpp", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    return "--metrics-port" in out.stdout


def _start_services(
    sup: Supervisor, nats_url: str, db_url: str, keys: CommandKeys
) -> tuple[str, list[Target]]:
    """Projector, dispatcher and API; the API's URL and the scrape targets they offer."""
    targets: list[Target] = []
    common = {
        "projector": ["projector", "--nats", nats_url, "--db", db_url],
        "dispatcher": ["dispatcher", "--nats", nats_url, "--db", db_url, "--cycle-s", "1"],
    }
    common["dispatcher"] += ["--signing-keys", str(keys.directory)]
    for role, args in common.items():
        if offers_metrics_port(role):
            port = free_port()
            args += ["--metrics-port", str(port)]
            targets.append((JOBS[role], role, f"127.0.0.1:{port}"))
        sup.start(role, args)
    api_port, api_metrics = free_port(), free_port()
    sup.start(
        "api",
        ["api", "--db", db_url, "--port", str(api_port), "--metrics-port", str(api_metrics)],
    )
    targets.append((JOBS["api"], "api", f"127.0.0.1:{api_metrics}"))
    return f"http://127.0.0.1:{api_port}", targets


@contextlib.asynccontextmanager
async def observed_stack(
    tmp_path: Path, nats_url: str, keys: CommandKeys
) -> AsyncIterator[ObservedStack]:
    """The stack running and Prometheus up (its first scrapes may still be on the way)."""
    db_url = f"sqlite:///{tmp_path / 'vpp.sqlite'}"
    upgrade_store(db_url)
    fleet = await start_sunspec_fleet(KINDS)
    gw_port = free_port()
    cfg = make_config(
        keys,
        fleet.endpoints,
        nats_url,
        tmp_path / "gw",
        gateway_id=GATEWAY_ID,
        metrics={"host": "127.0.0.1", "port": gw_port},
    )
    demo = register_demo(db_url, [cfg])
    sup = Supervisor(tmp_path / "logs")
    prometheus: PrometheusProcess | None = None
    try:
        async with running(build_gateway(cfg)) as gw:
            api_url, targets = _start_services(sup, nats_url, db_url, keys)
            await async_wait_until(lambda: http_ok(f"{api_url}/openapi.json"), 60, in_thread=True)
            targets.append((JOBS["gateway"], GATEWAY_ID, f"127.0.0.1:{gw_port}"))
            prometheus = start_prometheus(tmp_path / "prometheus", targets)
            yield ObservedStack(
                fleet, gw, sup, prometheus, api_url, demo.api_key, demo.plant_ids, targets
            )
    finally:
        if prometheus is not None:
            prometheus.stop()
        sup.stop_all()
        await fleet.close()

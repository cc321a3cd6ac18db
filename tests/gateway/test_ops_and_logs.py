"""``vpp gateway --log-format json --metrics-port P --instance NAME``: its log lines are
JSON objects carrying the command's ids, ``/readyz`` says ready once NATS is connected
and its devices polled, and 503 with the reason while NATS is away (``/healthz`` 200)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import nats
import yaml

from tests.harness.gateway import GW, acks_of, command, make_config, running, send
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.server import free_port
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind
from vpp.runtime import stop_process


def _records(log: Path) -> list[dict[str, Any]]:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]  # every line is one JSON object, or this fails


async def _status(url: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(url)).status_code
    except httpx.HTTPError:
        return None


def _answers(url: str, code: int) -> Any:
    async def check() -> bool:
        return await _status(url) == code

    return check


async def test_gateway_json_logs_and_readiness(
    command_keys: CommandKeys, fleet_factory, nats_server_factory, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1})
    server = nats_server_factory()
    cfg = make_config(command_keys, fleet.endpoints, server.url, tmp_path / "gw", gateway_id=GW)
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    nc = await nats.connect(server.url)
    await ensure_streams(nc.jetstream())
    port, log = free_port(), tmp_path / "gateway.log"
    args = ["gateway", "--config", str(tmp_path / "gateway.yaml"), "--log-format", "json"]
    args += ["--metrics-port", str(port), "--instance", "gw-edge-7"]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vpp", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "VPP_LOG_FORMAT": "text"},  # the flag wins
        )
    ops = f"http://127.0.0.1:{port}"
    try:
        await async_wait_until(_answers(f"{ops}/readyz", 200), 20, what=log.read_text)
        cmd = command("bat-0001", 1, -1500.0)
        await send(nc.jetstream(), cmd, command_keys)
        assert (await acks_of(server.url, 1))["_count"] == 1
        await nc.close()

        def logged() -> list[dict[str, Any]]:
            return [r for r in _records(log) if r.get("command_id") == cmd.command_id]

        await async_wait_until(logged, 10, what=lambda: log.read_text())
        rec = logged()[0]
        assert rec["der_id"] == "bat-0001" and rec["dispatch_id"] == "d-1"
        assert rec["instance"] == "gw-edge-7" and rec["level"] == "INFO"
        assert {"ts", "logger", "message"} <= rec.keys() and rec["ts"].endswith("Z")

        server.stop()  # the uplink goes away: alive, buffering, not ready
        await async_wait_until(_answers(f"{ops}/readyz", 503), 20, what="ready without NATS")
        body = httpx.get(f"{ops}/readyz", timeout=2).json()
        assert "NATS unreachable" in body["reason"], body
        assert await _status(f"{ops}/healthz") == 200
        assert "vpp_gateway_uplink_up 0.0" in httpx.get(f"{ops}/metrics", timeout=2).text
    finally:
        stop_process(proc)
        if nc.is_connected:
            await nc.close()
    _records(log)  # the whole log, to the last line, is JSON
    assert not proc.returncode, log.read_text()[-2000:]


async def test_readiness_waits_for_a_device_that_answers(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory({DerKind.PV: 1})
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id="gw-r")
    built = build_gateway(cfg)
    assert built.gateway.readiness() == "starting"
    await fleet.stop_server("pv-0001")  # its only device does not answer
    async with running(built) as gw:
        await async_wait_until(lambda: gw.gateway.readiness() != "starting", 10)
        await async_wait_until(
            lambda: gw.gateway.readiness() == "none of the 1 devices answers",
            15,
            what=lambda: str(gw.gateway.readiness()),
        )

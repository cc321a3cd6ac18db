"""``vpp gateway config-from`` turns a simulator endpoint list into gateway.yaml; the
gateway built from that file serves Prometheus metrics on /metrics."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.harness.gateway import running
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.server import free_port
from vpp.bootstrap import build_gateway
from vpp.cli import app
from vpp.config import load_yaml
from vpp.config.gateway import GatewayConfig, Iec61850Device, SunSpecDevice
from vpp.domain import DerKind


def test_config_from_endpoints_both_protocols(tmp_path: Path, command_keys: CommandKeys) -> None:
    endpoints = [
        {"der_id": "pv-0001", "kind": "pv", "protocol": "sunspec", "host": "127.0.0.1",
         "port": 15020, "unit_id": 3, "ratings": {"p_min_w": 0.0, "p_max_w": 8000.0}},
        {"der_id": "bat-0001", "kind": "battery", "protocol": "iec61850", "host": "127.0.0.1",
         "port": 10102, "ied": "Sbat_0001", "ld": "Sbat_0001DER", "ld_inst": "DER",
         "ctl_model": "direct-with-normal-security", "scl": "/x/battery.icd",
         "ratings": {"p_min_w": -5000.0, "p_max_w": 5000.0, "energy_wh": 10000.0}},
    ]  # fmt: skip
    src = tmp_path / "endpoints.json"
    src.write_text(json.dumps(endpoints))
    out = tmp_path / "gateway.yaml"
    result = CliRunner().invoke(
        app,
        ["gateway", "config-from", str(src), "-o", str(out), "--gateway-id", "edge-7",
         "--nats-url", "nats://127.0.0.1:4333", "--command-keys", str(command_keys.trusted_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cfg = load_yaml(out, GatewayConfig)
    assert cfg.gateway_id == "edge-7" and cfg.nats.url == "nats://127.0.0.1:4333"
    assert cfg.security.command_keys_file == command_keys.trusted_file.resolve()
    assert not cfg.security.allow_unsigned_commands
    pv, bat = cfg.devices
    assert isinstance(pv, SunSpecDevice) and pv.unit_id == 3 and pv.port == 15020
    assert pv.ratings != "device" and pv.ratings.p_max_w == 8000.0
    assert isinstance(bat, Iec61850Device) and bat.ied == "Sbat_0001" and bat.ld == "DER"
    assert str(bat.scl_file) == "/x/battery.icd"
    bad = CliRunner().invoke(app, ["gateway", "config-from", str(src), "--gateway-id", "a.b"])
    assert bad.exit_code != 0
    # secure by default: without keys (or an explicit opt-out) no gateway.yaml is written
    unsigned = CliRunner().invoke(app, ["gateway", "config-from", str(src)])
    assert unsigned.exit_code == 2 and "command_keys_file is required" in unsigned.output
    opt_out = ["gateway", "config-from", str(src), "--allow-unsigned-commands"]
    assert CliRunner().invoke(app, opt_out).exit_code == 0

    assert cfg.data_dir == Path.cwd() / "gateway-data"  # the default, made absolute


def test_config_from_writes_the_data_dir_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "endpoints.json"
    src.write_text("[]")
    monkeypatch.chdir(tmp_path)
    args = ["gateway", "config-from", str(src), "-o", "gateway.yaml"]
    result = CliRunner().invoke(
        app, [*args, "--data-dir", "run/gateway-data", "--allow-unsigned-commands"]
    )
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "gateway.yaml").read_text())["data_dir"]
    assert written == str(tmp_path / "run" / "gateway-data")


async def test_metrics_endpoint(
    fleet_factory,
    nats_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command_keys: CommandKeys,
) -> None:
    fleet = await fleet_factory({DerKind.PV: 1, DerKind.BATTERY: 1})
    src = tmp_path / "endpoints.json"
    src.write_text(json.dumps(fleet.endpoints))
    out = tmp_path / "gateway.yaml"
    args = ["gateway", "config-from", str(src), "-o", str(out), "--gateway-id", "gw-metrics"]
    args += ["--data-dir", str(tmp_path / "gw")]
    args += ["--command-keys", str(command_keys.trusted_file)]
    assert CliRunner().invoke(app, [*args, "--nats-url", nats_url]).exit_code == 0
    doc = yaml.safe_load(out.read_text())
    port = free_port()
    doc["metrics"] = {"host": "127.0.0.1", "port": port}
    doc["devices"][0]["ratings"] = "device"  # read the nameplate from the device
    cfg = GatewayConfig.model_validate(doc)
    elsewhere = tmp_path / "elsewhere"  # the gateway runs from another directory
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    async with running(build_gateway(cfg)) as gw:
        await async_wait_until(lambda: all(r.healthy for r in gw.gateway.runners.values()), 10)
        lag_sum = "vpp_gateway_publish_lag_seconds_sum"
        await async_wait_until(lambda: sample(gw.metrics.registry, lag_sum) > 0, 10)
        assert gw.gateway.runners["pv-0001"].der.ratings.p_max_w == 10_000.0
        url = f"http://127.0.0.1:{port}/metrics"
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
    body = text.decode()
    for name in (
        "vpp_gateway_poll_seconds_bucket",
        "vpp_gateway_cycle_seconds_count",
        "vpp_gateway_publish_lag_seconds_count",
        "vpp_gateway_buffer_readings",
        "vpp_gateway_buffer_dropped_readings_total",
        'vpp_gateway_device_healthy{der_id="bat-0001"} 1.0',
        "vpp_gateway_uplink_up 1.0",
    ):
        assert name in body, name
    # its state is where --data-dir said, nowhere under the working directory
    assert {"commands.sqlite", "telemetry-buffer.sqlite"} <= {
        p.name for p in (tmp_path / "gw").iterdir()
    }
    assert not list(elsewhere.iterdir())


def test_gateway_does_not_start_without_its_pinned_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "gateway.yaml"
    missing = tmp_path / "no-such-keys.pub"
    cfg.write_text(
        yaml.safe_dump(
            {"gateway_id": "gw-keys", "data_dir": str(tmp_path / "gw"),
             "security": {"command_keys_file": str(missing)}, "devices": []}
        )
    )  # fmt: skip
    out = CliRunner().invoke(app, ["gateway", "--config", str(cfg)])
    assert out.exit_code == 2
    assert "gateway not started" in out.output and str(missing) in out.output
    cfg.write_text(yaml.safe_dump({"gateway_id": "gw-keys", "devices": []}))
    out = CliRunner().invoke(app, ["gateway", "--config", str(cfg)])
    assert out.exit_code == 2 and "security.command_keys_file is required" in out.output

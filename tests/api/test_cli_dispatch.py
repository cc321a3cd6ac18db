"""``vpp dispatch``: send a request and follow it while a (simulated) dispatcher works."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from tests.harness.api_world import World, fresh_readings
from vpp.adapters.store import schema as s
from vpp.cli import app
from vpp.cli.dispatch import LiveTable, Snapshot, follow, resolve_target, send_dispatch


def act_as_dispatcher(world: World, dispatch_id: str) -> None:
    """Move the dispatch through planned -> active -> completed, as the dispatcher would."""
    d, di = s.dispatches, s.dispatch_intervals
    steps = [
        ("planned", {"p_w_target": 20_000.0, "p_w_planned": 20_000.0, "energy_wh_target": 5.0}),
        ("active", {"p_w_measured_last": 12_000.0, "energy_wh_delivered": 1.0}),
        ("active", {"p_w_measured_last": 19_500.0, "energy_wh_delivered": 3.0}),
        ("completed", {"energy_wh_delivered": 4.9}),
    ]
    for status, values in steps:
        time.sleep(0.15)
        with world.store.engine.begin() as con:
            con.execute(update(di).where(di.c.dispatch_id == dispatch_id).values(**values))
            con.execute(
                update(d)
                .where(d.c.dispatch_id == dispatch_id)
                .values(status=status, updated_at=datetime.now(UTC))
            )


def test_send_and_follow_until_completed(world: World) -> None:
    world.readings(*fresh_readings())
    world.client.headers["Authorization"] = f"Bearer {world.key_a}"
    sent = send_dispatch(
        world.client,
        plant_id="plant-a",
        p_kw=20.0,
        duration="PT5S",
        start=datetime.now(UTC),
    )
    assert sent["status"] == "accepted"
    worker = threading.Thread(target=act_as_dispatcher, args=(world, sent["dispatch_id"]))
    worker.start()
    seen: list[Snapshot] = []
    with LiveTable("test", force_plain=True) as table:

        def record(snap: Snapshot) -> None:
            seen.append(snap)
            table.add(snap)

        final = follow(
            world.client,
            sent["dispatch_id"],
            "plant-a",
            on_snapshot=record,
            poll_s=0.05,
            timeout_s=20,
        )
    worker.join()
    assert final["status"] == "completed"
    statuses = [x.status for x in seen]
    assert statuses[0] == "accepted" and statuses[-1] == "completed" and "active" in statuses
    assert seen[0].measured_kw == 40.0  # before the loop measures: the plant's power now
    assert 19.5 in [x.measured_kw for x in seen] and seen[-1].target_kw == 20.0
    assert seen[-1].delivered_kwh == pytest.approx(0.0049)


def test_target_from_env_or_info_file(tmp_path: Path) -> None:
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"api_url": "http://127.0.0.1:9/", "api_key": "vpp_k"}))
    assert resolve_target(None, None, info).url == "http://127.0.0.1:9"
    assert resolve_target("http://x", None, info).key == "vpp_k"
    assert resolve_target(None, None, info).ca_file is None
    with pytest.raises(typer.BadParameter):
        resolve_target(None, None, None)
    info.write_text(json.dumps({"api_url": "https://h/", "api_key": "k", "ca_file": "tls/ca.pem"}))
    assert resolve_target(None, None, info).ca_file == tmp_path / "tls" / "ca.pem"
    assert resolve_target(None, None, info, Path("/etc/ca.pem")).ca_file == Path("/etc/ca.pem")
    with pytest.raises(typer.BadParameter, match="cannot load CA certificate"):
        resolve_target(None, None, info).verify()


def test_cli_reports_missing_target_and_unreachable_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VPP_API_URL", raising=False)
    monkeypatch.delenv("VPP_API_KEY", raising=False)
    runner = CliRunner()
    args = ["dispatch", "--plant", "p1", "--p-kw", "5", "--for", "PT15M"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "VPP_API_URL" in r.output
    monkeypatch.setenv("VPP_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("VPP_API_KEY", "vpp_0000000000000000_x")
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "vpp dispatch:" in r.output

"""``GET /v1/plants/{id}/flexibility`` and ``vpp flexibility``: values against a small fleet
computed by hand, tenant scope, bounds as problems, and the CLI table over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import update
from typer.testing import CliRunner

from tests.harness.api_world import World
from tests.harness.wait import wait_until
from vpp.adapters.nats.server import free_port
from vpp.adapters.store import schema as s
from vpp.application.ports import DerRecord, RegistryImport
from vpp.cli import app as vpp_app
from vpp.cli.flexibility import fetch_flexibility, table_lines
from vpp.domain import Der, DerKind, DerRatings, Plant, Reading
from vpp.domain.units import format_rfc3339

URL = "/v1/plants/plant-f/flexibility"


def flex_plant(world: World) -> datetime:
    """Plant ``plant-f`` of tenant t-a: a 20 kW / 10 kWh battery idle at half charge, a
    40 kW CHP (10 kW min stable) at 20 kW, an 11 kW charger whose car wants 5 kWh more."""
    site = {"gateway_id": "gw-site-a", "site_id": "site-a"}
    ders = [
        Der("bat-f", DerKind.BATTERY, DerRatings(-20_000, 20_000, energy_wh=10_000), **site),
        Der("chp-f", DerKind.CHP, DerRatings(0, 40_000, min_stable_w=10_000), **site),
        Der("ev-f", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), **site),
    ]
    plant = Plant("plant-f", "t-a", frozenset(d.der_id for d in ders), "Flexible")
    world.store.registry.import_registry(
        RegistryImport(ders=[DerRecord(d) for d in ders], plants=[plant])
    )
    now = datetime.now(UTC)
    ts = now - timedelta(seconds=2)
    world.readings(
        Reading("bat-f", ts, 0.0, soc=0.5),
        Reading("chp-f", ts, 20_000.0),
        Reading("ev-f", ts, -11_000.0, connected=True, energy_wh=5_000.0),
    )
    return now


def kw_columns(body: dict[str, Any]) -> dict[str, list[float]]:
    keys = ("baseline_kw", "up_kw", "down_kw", "p_min_kw", "p_max_kw", "up_kwh")
    return {k: [round(iv[k], 6) for iv in body["intervals"]] for k in keys}


def test_values_of_a_small_fleet_by_hand(world: World) -> None:
    now = flex_plant(world)
    q = {"start": format_rfc3339(now), "end": format_rfc3339(now + timedelta(minutes=90))}
    r = world.client.get(URL, params={**q, "step": "PT30M"}, headers=world.auth(world.key_a_read))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["step"] == "PT30M" and len(body["intervals"]) == 3
    assert body["members_planned"] == ["bat-f", "chp-f", "ev-f"]
    assert body["members_unavailable"] == [] and body["members_held"] == []
    # battery: 5 kWh either way in 30 min = +-10 kW; CHP: +20 (to max) / -20 (off);
    # EV: full power takes its 5 kWh in the first half hour (10 kW), then it is done
    cols = kw_columns(body)
    assert cols["baseline_kw"] == [10.0, 20.0, 20.0]
    assert cols["up_kw"] == [40.0, 30.0, 30.0]
    assert cols["down_kw"] == [30.0, 30.0, 30.0]
    assert cols["p_max_kw"] == [50.0, 50.0, 50.0] and cols["p_min_kw"] == [-20.0, -10.0, -10.0]
    assert cols["up_kwh"] == [20.0, 15.0, 15.0]
    assert datetime.fromisoformat(body["intervals"][1]["start"]) == now + timedelta(minutes=30)


def test_future_start_begins_from_the_baselines_state(world: World) -> None:
    now = flex_plant(world)
    start = now + timedelta(hours=1)
    q = {"start": format_rfc3339(start), "end": format_rfc3339(start + timedelta(hours=1))}
    body = world.client.get(
        URL, params={**q, "step": "PT30M"}, headers=world.auth(world.key_a)
    ).json()
    cols = kw_columns(body)
    assert cols["baseline_kw"] == [20.0, 20.0]  # the car was charged during the lead-in
    assert cols["up_kw"] == [30.0, 30.0] and cols["down_kw"] == [30.0, 30.0]


def test_defaults_and_an_unhealthy_member(world: World) -> None:
    now = flex_plant(world)
    with world.store.engine.begin() as con:
        con.execute(update(s.ders).where(s.ders.c.der_id == "bat-f").values(healthy=False))
    body = world.client.get(URL, headers=world.auth(world.key_a)).json()
    assert body["step"] == "PT15M" and len(body["intervals"]) == 16
    start = datetime.fromisoformat(body["start"])
    quarter = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    assert start in (quarter, quarter + timedelta(minutes=15))  # the interval holding now
    assert datetime.fromisoformat(body["end"]) - start == timedelta(hours=4)
    assert body["members_unavailable"] == ["bat-f"]
    assert any("bat-f: left out, marked unhealthy" in n for n in body["notes"])
    # CHP +20 and the car (11 kW for a quarter hour: 2.75 of its 5 kWh) +11 up
    assert body["intervals"][0]["up_kw"] == pytest.approx(31.0)
    assert body["intervals"][0]["baseline_kw"] == pytest.approx(9.0)


def test_another_tenants_plant_is_not_found(world: World) -> None:
    flex_plant(world)
    r = world.client.get(URL, headers=world.auth(world.key_b))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:vpp:problem:not-found"
    own = world.client.get("/v1/plants/plant-b/flexibility", headers=world.auth(world.key_b))
    assert own.status_code == 200 and own.json()["members_unavailable"] == ["bat-b1"]  # no reading
    assert world.client.get(URL).status_code == 401


def test_bad_parameters_are_problems(world: World) -> None:
    now = flex_plant(world)
    t = lambda d: format_rfc3339(now + d)  # noqa: E731
    bad = [
        ({"step": "PT0S"}, "step"),
        ({"step": "15min"}, "ISO 8601"),
        ({"step": "PT10S"}, "step"),
        ({"start": t(timedelta(hours=2)), "end": t(timedelta(hours=1))}, "before end"),
        ({"start": t(-timedelta(hours=2))}, "in the past"),
        ({"end": t(timedelta(days=8))}, "7 days"),
        ({"step": "PT1M", "start": t(timedelta(0)), "end": t(timedelta(hours=12))}, "at most 672"),
        ({"start": t(timedelta(0)), "end": t(timedelta(minutes=20))}, "whole number"),
        ({"start": "yesterday"}, ""),
    ]
    for params, says in bad:
        r = world.client.get(URL, params=params, headers=world.auth(world.key_a))
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert says in (r.json().get("detail") or ""), (params, r.json())


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The world's app served over real HTTP on a loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(world.client.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, 0.05, what="uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_cli_shows_the_table(world: World, served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = flex_plant(world)
    for name in ("VPP_API_URL", "VPP_API_KEY", "VPP_API_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    target = ["--api", served, "--key", world.key_a]
    end = format_rfc3339(now + timedelta(minutes=90))
    args = ["flexibility", "--plant", "plant-f", "--start", format_rfc3339(now), "--end", end]
    out = CliRunner().invoke(vpp_app, [*args, "--step", "PT30M", *target])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("flexibility of plant-f per PT30M")
    header = ("start", "baseline kW", "up kW", "down kW", "min kW", "max kW", "up kWh", "down kWh")
    assert lines[1].split() == " ".join(header).split()
    rows = [line.split() for line in lines[2:5]]
    assert [r[2:] for r in rows] == [
        ["10.00", "40.00", "30.00", "-20.00", "50.00", "20.000", "15.000"],
        ["20.00", "30.00", "30.00", "-10.00", "50.00", "15.000", "15.000"],
        ["20.00", "30.00", "30.00", "-10.00", "50.00", "15.000", "15.000"],
    ]
    world.client.headers["Authorization"] = f"Bearer {world.key_a}"
    body = fetch_flexibility(
        world.client, "plant-f", start=now, end=now + timedelta(hours=1), step="PT30M"
    )
    assert len(table_lines(body)) == 4  # title, header, two intervals
    missing = CliRunner().invoke(vpp_app, ["flexibility", "--plant", "nope", *target])
    assert missing.exit_code == 1 and "vpp flexibility: HTTP 404" in missing.output

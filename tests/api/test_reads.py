"""Reads: plants with their envelope now, DERs, telemetry with bounded ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.harness.api_world import World, fresh_readings
from vpp.domain import Quality, Reading
from vpp.domain.units import format_rfc3339


def test_plant_envelope_now(world: World) -> None:
    world.readings(*fresh_readings())
    r = world.client.get("/v1/plants/plant-a", headers=world.auth(world.key_a_read))
    assert r.status_code == 200
    plant = r.json()
    assert plant["members"] == ["bat-a1", "pv-a1"] and plant["name"] == "Plant A"
    env = plant["envelope"]
    assert (env["p_min_kw"], env["p_max_kw"], env["p_now_kw"]) == (-50.0, 80.0, 40.0)
    assert (env["up_kw"], env["down_kw"]) == (40.0, 90.0)
    assert env["members_available"] == ["bat-a1", "pv-a1"] and env["members_unavailable"] == []


def test_stale_member_is_unavailable(world: World) -> None:
    now = datetime.now(UTC)
    world.readings(
        Reading("bat-a1", now - timedelta(minutes=10), 10_000.0, soc=0.5),
        Reading("pv-a1", now - timedelta(seconds=1), 30_000.0, p_avail_w=30_000.0),
    )
    env = world.client.get("/v1/plants/plant-a", headers=world.auth(world.key_a)).json()["envelope"]
    assert env["members_unavailable"] == ["bat-a1"]
    assert (env["p_min_kw"], env["p_max_kw"]) == (0.0, 30.0)


def test_der_detail_and_list(world: World) -> None:
    world.readings(*fresh_readings())
    a = world.auth(world.key_a)
    der = world.client.get("/v1/ders/bat-a1", headers=a).json()
    assert der["kind"] == "battery" and der["protocol"] == "sunspec"
    assert der["ratings"]["p_max_kw"] == 50.0 and der["ratings"]["energy_kwh"] == 200.0
    assert der["latest"]["p_kw"] == 10.0 and der["latest"]["soc"] == 0.5
    assert der["available"] and der["envelope"]["up_kw"] == 40.0
    assert der["plants"] == ["plant-a"]
    page = world.client.get("/v1/ders?limit=1", headers=a).json()
    assert [d["der_id"] for d in page["items"]] == ["bat-a1"] and page["next_after"] == "bat-a1"
    rest = world.client.get("/v1/ders?limit=1&after=bat-a1", headers=a).json()
    assert [d["der_id"] for d in rest["items"]] == ["pv-a1"]


def test_der_telemetry_raw_and_minutes(world: World) -> None:
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    world.readings(
        *[Reading("bat-a1", t0 + timedelta(seconds=10 * i), 1000.0 * i) for i in range(12)],
        Reading("bat-a1", t0 + timedelta(seconds=125), 0.0, quality=Quality.INVALID),
    )
    a = world.auth(world.key_a)
    q = {"start": format_rfc3339(t0), "end": format_rfc3339(t0 + timedelta(minutes=5))}
    raw = world.client.get("/v1/ders/bat-a1/telemetry", params=q, headers=a).json()
    assert raw["resolution"] == "raw" and len(raw["points"]) == 13
    assert raw["points"][1]["p_kw"] == 1.0 and raw["points"][-1]["quality"] == "invalid"
    mins = world.client.get(
        "/v1/ders/bat-a1/telemetry", params={**q, "resolution": "1m"}, headers=a
    ).json()
    assert [p["n"] for p in mins["points"]] == [6, 6, 1]
    assert mins["points"][0]["p_kw"] == 2.5 and mins["points"][0]["p_kw_max"] == 5.0
    assert mins["points"][2]["n_bad"] == 1


def test_plant_telemetry_sums_members_per_minute(world: World) -> None:
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    world.readings(
        Reading("bat-a1", t0, 4000.0),
        Reading("bat-a1", t0 + timedelta(seconds=30), 6000.0),
        Reading("pv-a1", t0 + timedelta(seconds=10), 20_000.0),
        Reading("pv-a1", t0 + timedelta(seconds=70), 10_000.0),
    )
    q = {"start": format_rfc3339(t0), "end": format_rfc3339(t0 + timedelta(minutes=3))}
    out = world.client.get(
        "/v1/plants/plant-a/telemetry", params=q, headers=world.auth(world.key_a)
    ).json()
    assert out["resolution"] == "1m"
    assert [(p["p_kw"], p["n_members"]) for p in out["points"]] == [(25.0, 2), (10.0, 1)]


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        (
            "/v1/ders/bat-a1/telemetry",
            {"start": "2026-01-01T00:00:00Z", "end": "2026-01-09T00:00:00Z"},
            "7 days",
        ),
        (
            "/v1/ders/bat-a1/telemetry",
            {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            "before end",
        ),
        (
            "/v1/ders/bat-a1/telemetry",
            {"start": "2026-01-01T00:00:00Z", "end": "2026-01-03T00:00:00Z", "resolution": "raw"},
            "1 day",
        ),
        ("/v1/plants/plant-a/telemetry", {"resolution": "raw"}, "1m"),
        ("/v1/ders/bat-a1/telemetry", {"start": "2026-01-01T00:00:00"}, "timezone"),
        ("/v1/ders/bat-a1/telemetry", {"resolution": "5m"}, "resolution"),
        ("/v1/ders/bat%20a1/telemetry", {}, "pattern"),
        ("/v1/plants", {"limit": "0"}, "limit"),
        ("/v1/ders/bat-a1/telemetry", {"start": "0001-01-01T00:00:00+14:00"}, "year"),
        ("/v1/plants/plant-a/telemetry", {"end": "9999-12-31T23:59:59-14:00"}, "year"),
        ("/v1/plants/plant-a/telemetry", {"end": "0001-01-01T00:10:00Z"}, "year"),
    ],
)
def test_bad_ranges_are_422_with_reason(world: World, path: str, params: dict, words: str) -> None:
    r = world.client.get(path, params=params, headers=world.auth(world.key_a))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.json()["detail"], r.json()


def test_row_limit_is_stated(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vpp.application.queries.MAX_ROWS", 3)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    world.readings(*[Reading("bat-a1", t0 + timedelta(seconds=i), 1.0) for i in range(5)])
    r = world.client.get("/v1/ders/bat-a1/telemetry", headers=world.auth(world.key_a))
    assert r.status_code == 422 and "more than 3 rows" in r.json()["detail"]

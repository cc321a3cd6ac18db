"""Dispatch requests through the API, checked against the rows the dispatcher reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from tests.harness.api_world import World, fresh_readings
from vpp.adapters.store import schema as s
from vpp.domain import Plant
from vpp.domain.units import format_rfc3339

PROBLEM = "application/problem+json"


def at(minutes: float) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    return format_rfc3339(start)


def body(*p_kw: float, mode: str = "absolute", start_min: float = 5, **extra: Any) -> dict:
    intervals = [
        {"start": at(start_min + 15 * i), "duration": "PT15M", "p_kw": p}
        for i, p in enumerate(p_kw)
    ]
    return {"mode": mode, "intervals": intervals, **extra}


def post(world: World, payload: dict, key: str, plant: str = "plant-a", api_key: str | None = None):
    headers = {**world.auth(api_key or world.key_a), "Idempotency-Key": key}
    return world.client.post(f"/v1/plants/{plant}/dispatches", json=payload, headers=headers)


def rows(world: World, dispatch_id: str) -> tuple[Any, list[Any]]:
    with world.store.engine.connect() as con:
        d = con.execute(select(s.dispatches).where(s.dispatches.c.dispatch_id == dispatch_id)).one()
        ivs = con.execute(
            select(s.dispatch_intervals)
            .where(s.dispatch_intervals.c.dispatch_id == dispatch_id)
            .order_by(s.dispatch_intervals.c.idx)
        ).all()
    return d, ivs


def test_accepted_request_is_written_for_the_dispatcher(world: World) -> None:
    world.readings(*fresh_readings())
    payload = body(20.0, -10.0)
    r = post(world, payload, "k-accept")
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["status"] == "accepted" and out["shortfall_kw"] == 0 and out["detail"] is None
    assert r.headers["location"] == f"/v1/dispatches/{out['dispatch_id']}"
    d, ivs = rows(world, out["dispatch_id"])
    assert (d.status, d.mode, d.tenant_id, d.plant_id) == ("accepted", "absolute", "t-a", "plant-a")
    assert d.idempotency_key == "k-accept" and len(d.request_hash) == 64
    assert format_rfc3339(d.start) == payload["intervals"][0]["start"]
    assert d.end - d.start == timedelta(minutes=30)
    assert [iv.p_w_requested for iv in ivs] == [20_000.0, -10_000.0]
    assert [iv.duration_s for iv in ivs] == [900.0, 900.0]
    assert ivs[0].p_w_target is None and ivs[0].energy_wh_delivered == 0.0
    assert out["intervals"][0]["energy_kwh_requested"] == 5.0
    assert out["intervals"][1]["p_kw_requested"] == -10.0


def test_idempotency_key_reused(world: World) -> None:
    payload = body(20.0)
    first = post(world, payload, "same-key")
    again = post(world, payload, "same-key")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["dispatch_id"] == again.json()["dispatch_id"]
    other = post(world, body(25.0), "same-key")
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM
    assert "different request" in other.json()["detail"]
    with world.store.engine.connect() as con:
        assert len(con.execute(select(s.dispatches)).all()) == 1
    # the key is the tenant's own: tenant B may use the same string
    assert post(world, body(5.0), "same-key", "plant-b", world.key_b).status_code == 202


def test_idempotency_key_required(world: World) -> None:
    r = world.client.post(
        "/v1/plants/plant-a/dispatches", json=body(1.0), headers=world.auth(world.key_a)
    )
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]


def test_shortfall_is_stated_or_refused(world: World) -> None:
    world.readings(*fresh_readings())
    # envelope: battery -50..50 kW, PV 0..30 kW -> plant -50..80 kW
    r = post(world, body(50.0, 100.0), "k-short")
    assert r.status_code == 202
    out = r.json()
    assert out["shortfall_kw"] == 20.0
    assert "short by up to 20.000 kW" in out["detail"] and "interval 1" in out["detail"]
    d, _ = rows(world, out["dispatch_id"])
    assert d.shortfall_w == 20_000.0 and "shortfall" in d.detail
    refused = post(world, body(100.0, on_shortfall="refuse"), "k-refuse")
    assert refused.status_code == 422 and "short by up to 20.000 kW" in refused.json()["detail"]
    # relative: up from 40 kW now is 40 kW (the plant's first dispatch cancelled first)
    gone = world.client.delete(
        f"/v1/dispatches/{out['dispatch_id']}", headers=world.auth(world.key_a)
    )
    assert gone.is_success
    rel = post(world, body(45.0, mode="relative"), "k-rel").json()
    assert rel["shortfall_kw"] == 5.0 and rel["intervals"][0]["energy_kwh_requested"] is None


def test_one_dispatch_at_a_time_per_der(world: World) -> None:
    world.readings(*fresh_readings())
    world.save_plant(Plant("plant-a-bat", "t-a", frozenset({"bat-a1"}), "A's battery"))
    world.save_plant(Plant("plant-b-x", "t-b", frozenset({"bat-a1"}), "B sharing it"))
    first = post(world, body(10.0), "k-o1")
    assert first.status_code == 202
    first_id = first.json()["dispatch_id"]
    clash = post(world, body(20.0, start_min=10), "k-o2")  # the same plant, overlapping
    assert clash.status_code == 409 and clash.headers["content-type"] == PROBLEM
    assert first_id in clash.json()["detail"] and "until" in clash.json()["detail"]
    shared = post(world, body(5.0, start_min=0.5), "k-o3", "plant-a-bat")  # shares bat-a1
    assert shared.status_code == 409 and first_id in shared.json()["detail"]
    other = post(world, body(5.0), "k-o4", "plant-b-x", api_key=world.key_b)
    assert other.status_code == 409
    assert "another tenant" in other.json()["detail"] and first_id not in other.json()["detail"]
    later = post(world, body(10.0, start_min=20), "k-o5")  # after the first one ends
    assert later.status_code == 202
    gone = world.client.delete(f"/v1/dispatches/{first_id}", headers=world.auth(world.key_a))
    assert gone.is_success
    assert post(world, body(5.0, start_min=0.5), "k-o6", "plant-a-bat").status_code == 202


def test_no_fresh_telemetry_means_the_whole_target_is_short(world: World) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    world.readings(*fresh_readings(old))
    out = post(world, body(10.0), "k-stale").json()
    assert out["shortfall_kw"] == 10.0
    assert "0 of 2 members available" in out["detail"] and "bat-a1" in out["detail"]


def test_refusals_say_why(world: World) -> None:
    def refused(payload: dict, key: str, words: str, plant: str = "plant-a") -> None:
        r = post(world, payload, key, plant)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert words in r.json()["detail"], r.json()

    overlapping = body(1.0, 2.0)
    overlapping["intervals"][1]["start"] = at(10)
    refused(overlapping, "k1", "overlap")
    reversed_ = body(1.0, 2.0)
    reversed_["intervals"].reverse()
    refused(reversed_, "k2", "out of order")
    refused(body(1.0, start_min=-30), "k3", "in the past")
    refused(body(1.0, start_min=8 * 24 * 60), "k4", "7 days ahead")
    many = {
        "mode": "absolute",
        "intervals": [
            {"start": at(1 + i), "duration": "PT1M", "p_kw": 1.0} for i in range(96 * 7 + 1)
        ],
    }
    refused(many, "k5", "intervals")
    bad_duration = body(1.0)
    bad_duration["intervals"][0]["duration"] = "P1M"
    refused(bad_duration, "k6", "ISO 8601")
    naive = body(1.0)
    naive["intervals"][0]["start"] = "2026-11-26T12:00:00"
    refused(naive, "k7", "timezone")
    refused({"mode": "up", "intervals": []}, "k8", "mode")
    for i, (start, duration) in enumerate(
        [
            ("9999-12-31T23:59:00Z", "PT15M"),
            ("0001-01-01T00:00:00+14:00", "PT15M"),
            ("2026-11-26T15:00:00Z", "P99999999999999999999D"),
        ]
    ):
        extreme = {
            "mode": "absolute",
            "intervals": [{"start": start, "duration": duration, "p_kw": 1}],
        }
        refused(extreme, f"k-extreme-{i}", "year")
    with world.store.engine.begin() as con:
        con.execute(
            insert(s.plants),
            [
                {
                    "plant_id": "empty",
                    "tenant_id": "t-a",
                    "name": "",
                    "created_at": datetime.now(UTC),
                }
            ],
        )
    refused(body(1.0), "k9", "no members", plant="empty")


def test_started_interval_is_fine(world: World) -> None:
    assert post(world, body(1.0, start_min=-5), "k-started").status_code == 202


def test_status_follows_the_dispatcher_and_cancel(world: World) -> None:
    out = post(world, body(20.0), "k-follow").json()
    did = out["dispatch_id"]
    now = datetime.now(UTC)
    with world.store.engine.begin() as con:
        con.execute(
            update(s.dispatches)
            .where(s.dispatches.c.dispatch_id == did)
            .values(status="active", baseline_w=3000.0, updated_at=now)
        )
        con.execute(
            update(s.dispatch_intervals)
            .where(s.dispatch_intervals.c.dispatch_id == did)
            .values(
                p_w_target=20_000.0,
                p_w_planned=18_000.0,
                energy_wh_target=5000.0,
                energy_wh_delivered=1234.0,
                p_w_measured_last=17_500.0,
            )
        )
        cmd = {"der_id": "bat-a1", "gateway_id": "gw-site-a", "dispatch_id": did, "p_w": 1.0}
        con.execute(
            insert(s.commands),
            [
                {
                    **cmd,
                    "command_id": f"c{i}",
                    "seq": i,
                    "valid_from": now,
                    "valid_until": now + timedelta(minutes=1),
                    "created_at": now,
                }
                for i in range(3)
            ],
        )
        con.execute(
            insert(s.acks),
            [
                {
                    **cmd,
                    "command_id": f"c{i}",
                    "seq": i,
                    "outcome": o,
                    "p_w_requested": 1.0,
                    "clamped": False,
                    "reason": "",
                    "ts": now,
                }
                for i, o in enumerate(["applied", "applied", "rejected"])
            ],
        )
    got = world.client.get(f"/v1/dispatches/{did}", headers=world.auth(world.key_a_read)).json()
    assert got["status"] == "active" and got["baseline_kw"] == 3.0 and not got["final"]
    iv = got["intervals"][0]
    assert (iv["p_kw_target"], iv["p_kw_planned"], iv["p_kw_measured_last"]) == (20.0, 18.0, 17.5)
    assert (iv["energy_kwh_target"], iv["energy_kwh_delivered"]) == (5.0, 1.234)
    assert iv["duration"] == "PT15M"
    assert got["commands"] == {"sent": 3, "acks": {"applied": 2, "rejected": 1}}
    # read scope may not cancel
    assert (
        world.client.delete(
            f"/v1/dispatches/{did}", headers=world.auth(world.key_a_read)
        ).status_code
        == 403
    )
    r = world.client.delete(f"/v1/dispatches/{did}", headers=world.auth(world.key_a))
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["final"]
    d, _ = rows(world, did)
    assert d.status == "cancelled" and d.updated_at >= now
    again = world.client.delete(f"/v1/dispatches/{did}", headers=world.auth(world.key_a))
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    listed = world.client.get("/v1/dispatches?plant_id=plant-a", headers=world.auth(world.key_a))
    assert [x["dispatch_id"] for x in listed.json()["items"]] == [did]


def test_concurrent_retries_make_one_dispatch(world: World) -> None:
    """Clients retrying at the same moment with one key race to insert: one row wins."""
    from concurrent.futures import ThreadPoolExecutor

    from vpp.application.dispatch_requests import DispatchInput
    from vpp.bootstrap import api_services
    from vpp.domain import DispatchMode, Interval

    services = api_services(world.store.engine)
    start = datetime.now(UTC) + timedelta(minutes=5)
    req = DispatchInput(
        "plant-a", DispatchMode.ABSOLUTE, [Interval(start, timedelta(minutes=15), 1e3)]
    )
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: services.dispatches.submit("t-a", req, "race"), range(8)))
    assert len({r.view.record.dispatch_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    with world.store.engine.connect() as con:
        assert len(con.execute(select(s.dispatches)).all()) == 1

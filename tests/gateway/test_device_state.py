"""Device state end to end, both protocols: real simulators (the fleet's worker
processes), the gateway, nats-server, the projector and the store (both databases),
read back through the store and the API.

* a heat pump's thermal state (``soc`` of its comfort band, ``temp_c``) and a flexible
  load's job (``energy_wh`` still to consume, ``soc`` done, ``deadline``) reach
  ``latest_state`` over SunSpec (vpp's model 64960) and IEC 61850 (STMP1, DFLX1);
* a curtailed PV reports ``p_avail_w`` above ``p_w`` over both (SunSpec 122 ``WAval``,
  IEC 61850 ``DPVC1.AvlW``), so its envelope shows upward flexibility.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest

from simulators.fleet import RunningFleet, start_fleet
from tests.harness.api_world import World, make_world
from tests.harness.device_health import register_endpoints, running_projector
from tests.harness.gateway import acks_of, command, make_config, running, send
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import AckOutcome, Der, Reading, der_envelope

GW = "gw-state"
#: the flexible loads' daily job (Wh): about an hour at their 2 kW
JOB_WH = 2_000.0
#: the PVs run at this share of their rating once curtailed (their sky gives ~90 %)
CURTAILED = 0.3


def _solar_noon_lon(now: datetime) -> float:
    """The longitude where the sun is highest now: the PVs see daylight at any hour."""
    hours = now.hour + now.minute / 60
    return ((12.0 - hours) * 15.0 + 180.0) % 360.0 - 180.0


@pytest.fixture(scope="module")
def state_fleet() -> Iterator[RunningFleet]:
    now = datetime.now(UTC)
    pv = {"lat_deg": 0.0, "lon_deg": _solar_noon_lon(now + timedelta(minutes=2))}
    pv |= {"cloudiness": 0.0, "cloud_min": 1.0}
    load = {"window_start_h": 0.0, "window_end_h": 24.0, "job_energy_wh": [JOB_WH, JOB_WH]}
    groups = []
    for proto, tag in (("sunspec", "s"), ("iec61850", "i")):
        for kind, params in (("pv", pv), ("heat_pump", {}), ("flexible_load", load)):
            groups.append(
                {"kind": kind, "id_prefix": f"{tag}{kind[:4]}", "count": 1, "protocol": proto}
                | {"params": params}
            )
    spec = {
        "name": "device-state",
        "seed": 11,
        "step_s": 0.5,
        "addressing": {
            "sunspec": {"host": "127.0.0.1", "base_port": 0},
            "iec61850": {"host": "127.0.0.1", "base_port": 0},
        },
        "groups": groups,
    }
    fleet = start_fleet(spec, ready_timeout_s=90)
    try:
        yield fleet
    finally:
        fleet.stop()


def _latest(world: World, der_ids: list[str]) -> dict[str, Reading]:
    return world.store.registry.latest_readings(der_ids)


def _state_complete(latest: dict[str, Reading], ders: dict[str, Der]) -> bool:
    for der_id, der in ders.items():
        kind, r = der.kind.value, latest.get(der_id)
        if r is None:
            return False
        if kind == "heat_pump" and (r.soc is None or r.temp_c is None):
            return False
        job_seen = bool(r.soc) and r.energy_wh is not None and r.deadline is not None
        if kind == "flexible_load" and not job_seen:  # some of its energy consumed already
            return False
        p_max = der.ratings.p_max_w
        followed = r.p_w <= CURTAILED * p_max + 100  # it has settled at its limit
        if kind == "pv" and (not followed or r.p_avail_w is None or r.p_avail_w < 0.6 * p_max):
            return False
    return True


async def test_thermal_and_job_state_and_pv_availability_reach_the_store_over_both_protocols(
    command_keys: CommandKeys,
    state_fleet: RunningFleet,
    nats_url: str,
    db_url: str,
    tmp_path: Path,
) -> None:
    endpoints = state_fleet.endpoints
    kinds = {e["der_id"]: e["kind"] for e in endpoints}
    gw_id = f"{GW}-{db_url.split(':')[0].split('+')[0]}"  # one per database: its own acks
    assert {e["protocol"] for e in endpoints} == {"sunspec", "iec61850"}
    cfg = make_config(command_keys, endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    with make_world(db_url) as world:
        ders = register_endpoints(world.store, endpoints, gw_id, site_id="site-a")
        pvs = [d for d, k in kinds.items() if k == "pv"]
        try:
            async with running_projector(nats_url, db_url), running(build_gateway(cfg)):
                cmds = []
                for der_id in pvs:
                    p_w = CURTAILED * ders[der_id].ratings.p_max_w
                    cmds.append(command(der_id, 1, p_w, valid_s=300, gateway_id=gw_id))
                    await send(js, cmds[-1], command_keys)
                acks = await acks_of(nats_url, len(cmds), gateway_id=gw_id)
                for c in cmds:
                    assert acks[c.command_id].outcome is AckOutcome.APPLIED, acks[c.command_id]
                await async_wait_until(
                    lambda: _state_complete(_latest(world, list(kinds)), ders),
                    45,
                    0.5,
                    in_thread=True,
                )
                latest = _latest(world, list(kinds))
                auth = world.auth(world.key_a)
                api = {
                    d: await asyncio.to_thread(world.client.get, f"/v1/ders/{d}", headers=auth)
                    for d in kinds
                }
        finally:
            await nc.close()
    now = datetime.now(UTC)
    for der_id, kind in kinds.items():
        r, body = latest[der_id], api[der_id].json()
        assert api[der_id].status_code == 200, body
        shown = body["latest"]
        if kind == "heat_pump":
            # the example heat pump's band is 45..55 degC; soc is the fill of it
            assert r.temp_c is not None and 44.0 <= r.temp_c <= 56.0, (der_id, r)
            assert r.soc == pytest.approx((r.temp_c - 45.0) / 10.0, abs=0.02), (der_id, r)
            assert shown["temp_c"] == pytest.approx(r.temp_c)
        elif kind == "flexible_load":
            assert r.energy_wh is not None and 0 < r.energy_wh < JOB_WH, (der_id, r)
            assert r.soc is not None and 0 < r.soc < 1, (der_id, r)
            # consumed + still to consume = the job, both as the device says
            assert r.soc * JOB_WH + r.energy_wh == pytest.approx(JOB_WH, rel=0.01), (der_id, r)
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            assert r.deadline is not None
            assert abs(r.deadline - (midnight + timedelta(days=1))) <= timedelta(seconds=5)
            assert shown["energy_kwh"] == pytest.approx(r.energy_wh / 1000)
            assert shown["deadline"] is not None
        else:
            der = ders[der_id]
            assert r.p_w <= CURTAILED * der.ratings.p_max_w + 100, (der_id, r)
            assert r.p_avail_w is not None and r.p_avail_w > r.p_w + 0.3 * der.ratings.p_max_w
            env = der_envelope(der, r, now)
            assert env is not None and env.up_w > 0.3 * der.ratings.p_max_w, (der_id, env)
            assert body["envelope"]["up_kw"] == pytest.approx(env.up_w / 1000, rel=0.2)
        assert body["healthy"] is True and body["health_ts"] is not None, body

"""The demo fleet (both protocols, the simulators' own worker processes) through the
gateway into JetStream: every device reports in W with the sign convention, and commands
to a SunSpec and an IEC 61850 battery are applied, acked and followed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from simulators.fleet import RunningFleet, start_fleet
from tests.harness.gateway import acks_of, command, make_config, read_stream, running, send
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.domain import AckOutcome, Quality, Reading

DEMO = Path(__file__).resolve().parents[2] / "simulators" / "fleets" / "demo.yaml"
GW = "gw-demo"
LOADS = ("ev_charger", "heat_pump", "flexible_load")
#: how close a battery's reported power must come to its setpoint (W), as checked below
FOLLOWED_W = 300.0
#: readings each device must have reported, as checked below
READINGS_WANTED = 4


async def batteries_followed(
    nats_url: str, der_ids: set[str], bats: dict[str, dict[str, Any]], targets: dict[str, float]
) -> bool:
    """Every device reported enough valid readings and each battery's last one is at its
    target: what the checks after the gateway stopped look for."""
    msgs = await read_stream(nats_url, "TELEMETRY", subjects.telemetry(GW))
    last: dict[str, Reading] = {}
    good: dict[str, int] = dict.fromkeys(der_ids, 0)
    for m in msgs:
        for r in codec.decode_telemetry(m.data).readings:
            last[r.der_id] = r
            good[r.der_id] = good.get(r.der_id, 0) + (r.quality is not Quality.INVALID)
    followed = all(
        e["der_id"] in last and abs(last[e["der_id"]].p_w - targets[proto]) <= FOLLOWED_W
        for proto, e in bats.items()
    )
    return followed and all(n >= READINGS_WANTED for n in good.values())


@pytest.fixture(scope="module")
def demo_fleet() -> Iterator[RunningFleet]:
    fleet = start_fleet(DEMO, seed=3, ready_timeout_s=90)
    try:
        yield fleet
    finally:
        fleet.stop()


async def test_demo_fleet_both_protocols(
    command_keys: CommandKeys, demo_fleet: RunningFleet, nats_url: str, tmp_path: Path
) -> None:
    endpoints = demo_fleet.endpoints
    assert {e["protocol"] for e in endpoints} == {"sunspec", "iec61850"}
    by_id = {e["der_id"]: e for e in endpoints}
    cfg = make_config(command_keys, endpoints, nats_url, tmp_path / "gw", gateway_id=GW)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    bats = {
        proto: next(e for e in endpoints if e["kind"] == "battery" and e["protocol"] == proto)
        for proto in ("sunspec", "iec61850")
    }
    try:
        async with running(build_gateway(cfg)) as gw:
            runners = gw.gateway.runners
            await async_wait_until(lambda: all(r.healthy for r in runners.values()), 30, step_s=0.2)
            targets = {"sunspec": -2500.0, "iec61850": 2000.0}
            cmds = {
                proto: command(e["der_id"], 1, targets[proto], valid_s=120, gateway_id=GW)
                for proto, e in bats.items()
            }
            for c in cmds.values():
                await send(js, c, command_keys)
            acks = await acks_of(nats_url, 2, gateway_id=GW)
            await async_wait_until(
                lambda: batteries_followed(nats_url, set(by_id), bats, targets), 30, 0.5
            )
    finally:
        await nc.close()
    for proto, c in cmds.items():
        a = acks[c.command_id]
        assert a.outcome is AckOutcome.APPLIED, (proto, a)
        assert a.p_w_applied == pytest.approx(targets[proto], abs=1.0), (proto, a)

    msgs = await read_stream(nats_url, "TELEMETRY", subjects.telemetry(GW))
    readings: dict[str, list] = {}
    for m in msgs:
        for r in codec.decode_telemetry(m.data).readings:
            readings.setdefault(r.der_id, []).append(r)
    assert set(readings) == set(by_id), set(by_id) - set(readings)
    for der_id, rs in readings.items():
        e = by_id[der_id]
        rt = e["ratings"]
        good = [r for r in rs if r.quality is not Quality.INVALID]
        assert len(good) >= 4, (der_id, e["protocol"], len(rs))
        for r in good:
            assert rt["p_min_w"] - 1 <= r.p_w <= rt["p_max_w"] + 1, (der_id, r.p_w, rt)
            if e["kind"] in LOADS:
                assert r.p_w <= 0, (der_id, r.p_w)
            if e["kind"] in ("pv", "chp"):
                assert r.p_w >= 0, (der_id, r.p_w)
        ts = [r.ts for r in rs]
        assert ts == sorted(ts), der_id
    # the batteries followed their setpoints (a charging battery is negative)
    for proto, e in bats.items():
        last = readings[e["der_id"]][-1]
        assert last.p_w == pytest.approx(targets[proto], abs=FOLLOWED_W), (proto, last)
        assert last.soc is not None and 0.0 <= last.soc <= 1.0

"""The gateway against real SunSpec simulators and a real nats-server."""

from __future__ import annotations

from pathlib import Path

from tests.harness.gateway import make_config, read_stream, running
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import codec, subjects
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind, Quality

#: readings of every device the checks below want at least
READINGS_WANTED = 3


async def test_demo_fleet_telemetry_arrives_with_units_and_signs(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory()
    cfg = make_config(
        command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id="gw-tele"
    )
    async with running(build_gateway(cfg)) as gw:
        assert await gw.uplink.wait_connected(10)

        def readings_of(der_id: str) -> float:
            return sample(gw.metrics.registry, "vpp_gateway_readings_total", der_id=der_id)

        # the gateway's writes at connect (the release, then the first 715 heartbeat with
        # the first read) are done: a setpoint set locally now is not overwritten
        await async_wait_until(lambda: all(readings_of(d) >= 1 for d in fleet.devices), 10)
        batteries = {d: v for d, v in fleet.devices.items() if v.model.kind is DerKind.BATTERY}
        for dev in batteries.values():  # a local user charges the batteries
            dev.model.set_setpoint(-3000.0)
        await async_wait_until(  # they follow, within 10 %
            lambda: all(d.model.p_w < -2700.0 for d in batteries.values()),
            10,
            what=lambda: f"batteries at {[d.model.p_w for d in batteries.values()]}",
        )
        settled = {der_id: readings_of(der_id) for der_id in batteries}
        await async_wait_until(  # read once more after that, and every device a few times
            lambda: (
                all(readings_of(d) > n for d, n in settled.items())
                and all(readings_of(d) >= READINGS_WANTED for d in fleet.devices)
            ),
            10,
        )
        assert all(r.healthy for r in gw.gateway.runners.values())
        truth = {der_id: dev.model.p_w for der_id, dev in fleet.devices.items()}
    # a stopped gateway leaves every device in its default (autonomous) mode
    assert all(dev.model.setpoint_w is None for dev in fleet.devices.values())
    msgs = await read_stream(nats_url, "TELEMETRY", subjects.telemetry("gw-tele"))
    assert msgs, "no telemetry in JetStream"
    readings = [r for m in msgs for r in codec.decode_telemetry(m.data).readings]
    by_der: dict[str, list] = {}
    for r in readings:
        by_der.setdefault(r.der_id, []).append(r)
    assert set(by_der) == set(fleet.devices)
    for der_id, rs in by_der.items():
        assert len(rs) >= 3, der_id
        kind = fleet.devices[der_id].model.kind
        last = rs[-1]
        assert last.quality is Quality.GOOD
        assert last.v_v is not None and 200 < last.v_v < 260
        assert last.hz is not None and 49 < last.hz < 51
        r = fleet.devices[der_id].model.ratings
        assert r.p_min_w - 1 <= last.p_w <= r.p_max_w + 1, (der_id, last.p_w)
        if kind in (DerKind.EV_CHARGER, DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD):
            assert all(x.p_w <= 0 for x in rs), der_id
        if kind is DerKind.PV or kind is DerKind.CHP:
            assert all(x.p_w >= 0 for x in rs), der_id
        if kind is DerKind.BATTERY:
            assert last.p_w < -1000, (der_id, last.p_w)  # charging is negative
            assert last.soc is not None and 0 < last.soc < 1
        # W through the SunSpec scale factor: within a few % of the physics (noise, lag)
        if kind is not DerKind.PV:  # PV follows passing clouds faster than 1 Hz shows
            span = max(abs(r.p_min_w), abs(r.p_max_w))
            assert abs(last.p_w - truth[der_id]) <= 0.1 * span + 50, (der_id, last.p_w)
        ts = [x.ts for x in rs]
        assert ts == sorted(ts) and len(set(ts)) == len(ts)
    # deterministic message ids
    for m in msgs:
        batch = codec.decode_telemetry(m.data)
        msg_id = codec.telemetry_msg_id("gw-tele", batch.readings, batch.health)
        assert m.headers["Nats-Msg-Id"] == msg_id

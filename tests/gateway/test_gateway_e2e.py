"""The gateway against real SunSpec simulators and a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.gateway.conftest import make_config, read_stream
from vpp.adapters.nats import codec, subjects
from vpp.bootstrap import BuiltGateway, build_gateway
from vpp.domain import DerKind, Quality


@contextlib.asynccontextmanager
async def running(built: BuiltGateway) -> AsyncIterator[BuiltGateway]:
    task = asyncio.create_task(built.run())
    try:
        await built.wait_started()
        yield built
    finally:
        built.stop()
        await asyncio.wait_for(task, 20)


async def test_demo_fleet_telemetry_arrives_with_units_and_signs(
    fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    fleet = await fleet_factory()
    cfg = make_config(fleet.endpoints, nats_url, tmp_path / "gw", gateway_id="gw-tele")
    async with running(build_gateway(cfg)) as gw:
        assert await gw.uplink.wait_connected(10)
        await asyncio.sleep(1.5)  # the gateway released every device at connect
        for dev in fleet.devices.values():  # a local user charges the batteries
            if dev.model.kind is DerKind.BATTERY:
                dev.model.set_setpoint(-3000.0)
        await asyncio.sleep(4.0)
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
        assert m.headers["Nats-Msg-Id"] == codec.telemetry_msg_id("gw-tele", batch.readings)

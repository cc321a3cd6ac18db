"""The gateway's decoding of device state beyond 701/713 (122 ``WAval``, vpp's 64960):
from a simulated device's registers, and what it does when a point is not implemented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulators.physics import FlexibleLoadModel, HeatPumpModel, example_ratings, make_model
from simulators.sunspec import SunSpecDevice
from vpp.adapters.modbus.sunspec_models import model_layout
from vpp.adapters.modbus.sunspec_state import DeviceState, available, thermal_or_job
from vpp.codecs import sunspec as ss
from vpp.codecs.sunspec_vpp import VPP_STATE_MODEL_ID
from vpp.domain import DerKind

T0 = datetime(2026, 6, 21, 9, 0, tzinfo=UTC)


def block_of(kind: str, model_id: int, **params: object) -> tuple[SunSpecDevice, ss.ModelBlock]:
    model = make_model(kind, f"{kind}-1", example_ratings(kind), seed=2, params=params)
    dev = SunSpecDevice(model)
    now = T0
    for _ in range(5):
        now += timedelta(seconds=1)
        dev.tick(now, 1.0)
    regs = list(dev.image.registers)
    dev.on_read(regs, now)
    layout = model_layout(model_id)
    start = dev.image.model_addresses[model_id] - ss.BASE_ADDRESS
    return dev, ss.ModelBlock(layout, 0, regs[start : start + layout.length])


def test_heat_pump_state_and_its_fallback_from_the_comfort_band() -> None:
    dev, block = block_of("heat_pump", VPP_STATE_MODEL_ID)
    hp = dev.model
    assert isinstance(hp, HeatPumpModel)
    state = thermal_or_job(DerKind.HEAT_PUMP, block, block.scale_factors(), T0, DeviceState())
    assert state.temp_c == pytest.approx(hp.t_c, abs=0.06)
    assert state.soc == pytest.approx(hp.thermal_fill, abs=0.001)
    assert state.energy_wh is None and state.deadline is None
    # a device without the fill point: the fill of the band from Tmp, TmpMin, TmpMax
    regs = list(block.registers)
    regs[block.layout.points["ThmSoC"].offset] = ss.not_implemented_value("uint16")
    bare = ss.ModelBlock(block.layout, 0, regs)
    fallback = thermal_or_job(DerKind.HEAT_PUMP, bare, bare.scale_factors(), T0, DeviceState())
    assert fallback.soc == pytest.approx(state.soc, abs=0.01)


def test_flexible_load_job_and_deadline() -> None:
    params = {"window_start_h": 8.0, "window_end_h": 14.0, "job_energy_wh": [3000, 3000]}
    dev, block = block_of("flexible_load", VPP_STATE_MODEL_ID, **params)
    ts = T0 + timedelta(seconds=5)
    state = thermal_or_job(DerKind.FLEXIBLE_LOAD, block, block.scale_factors(), ts, DeviceState())
    assert isinstance(dev.model, FlexibleLoadModel)
    assert state.energy_wh == pytest.approx(dev.model.remaining_wh, abs=1.0)
    assert state.soc is not None and 0 < state.soc < 0.02
    assert state.deadline == ts.replace(hour=14, minute=0, second=0)
    assert state.temp_c is None


def test_pv_available_power_from_122_and_not_implemented() -> None:
    dev, block = block_of("pv", 122)
    sfs = block.scale_factors()
    state = available(block, sfs, DeviceState())
    assert state.p_avail_w == pytest.approx(
        dev.model.reading(T0).p_avail_w, abs=10 ** sfs["WAval_SF"]
    )
    regs = list(block.registers)
    regs[block.layout.points["WAval"].offset] = ss.not_implemented_value("uint16")
    assert available(ss.ModelBlock(block.layout, 0, regs), sfs, DeviceState()).p_avail_w is None

"""One register image, three decoders: the simulator's own point table, the gateway
adapter's path (model chain, :func:`model_layout`, :class:`ModelBlock` with the scale
factors read from the device) and pysunspec2 as the third-party judge.  They must read
every point of every model the same way, not-implemented values included."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from sunspec2 import mdef
from sunspec2.device import Model

from simulators.physics import example_ratings, make_model
from simulators.sunspec import SunSpecDevice
from vpp.adapters.modbus.sunspec_models import model_layout
from vpp.codecs import sunspec as ss
from vpp.codecs.sunspec_vpp import VENDOR_MODELS
from vpp.domain import DerKind

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
KINDS = ["pv", "battery", "ev_charger", "chp", "heat_pump", "flexible_load"]


def run_device(kind: str, **params: object) -> tuple[SunSpecDevice, list[int]]:
    """A simulated device driven for 10 s with a setpoint the gateway's codec wrote; its
    registers as the server would answer a read of the whole map."""
    model = make_model(kind, f"{kind}-0001", example_ratings(kind), seed=3, params=params)
    dev = SunSpecDevice(model)
    layout = model_layout(704)
    target = model.ratings.p_min_w / 2 if DerKind(kind).consumes else model.ratings.p_max_w / 2
    wset = {"WSetEna": 1, "WSetMod": 1, "WSet": round(target), "WSetRvrt": 0, "WSetPct": 0}
    wset |= {"WSetPctRvrt": 0, "WSetEnaRvrt": 0, "WSetRvrtTms": 0}  # the driver's group
    offset, regs = ss.encode_writes(layout, wset)
    assert dev.on_write(dev.image.model_addresses[704] + offset, regs, T0) is None
    now = T0
    for _ in range(10):
        now += timedelta(seconds=1)
        dev.tick(now, 1.0)
    image = list(dev.image.registers)
    dev.on_read(image, now)
    return dev, image


def gateway_blocks(image: list[int]) -> dict[int, ss.ModelBlock]:
    """Walk the map as the driver's discovery does; one block per model."""
    assert ss.is_suns_marker(image)
    blocks: dict[int, ss.ModelBlock] = {}
    i = 2
    while True:
        model_id, length = ss.parse_header(image[i : i + 2])
        if model_id == ss.END_MODEL_ID:
            return blocks
        layout = model_layout(model_id)
        assert length + 2 == layout.length
        blocks[model_id] = ss.ModelBlock(layout, 0, image[i : i + layout.length])
        i += layout.length


def judge(block: ss.ModelBlock) -> Model:
    """pysunspec2's reading of a block: its bundled definition for standard models, vpp's
    definition (which it must accept as valid) for vpp's own model."""
    regs = list(block.registers)
    vendor = VENDOR_MODELS.get(block.layout.model_id)
    if vendor is not None:
        assert mdef.validate_model_def(vendor) == ""
    model = Model(model_id=block.layout.model_id, model_def=vendor)
    model.set_mb(data=struct.pack(f">{len(regs)}H", *regs))
    assert not model.error_info
    return model


def assert_same_reading(block: ss.ModelBlock, theirs: Model) -> None:
    sfs = block.scale_factors()
    for name, p in block.layout.points.items():
        judged = theirs.points[name]
        if p.type == "string":
            regs = block.registers[p.offset : p.offset + p.size]
            assert ss.decode_string(regs) == judged.value, name
            continue
        raw = block.raw(name)
        assert raw == judged.value, name
        value = block.value(name, sfs)
        if raw is None:
            assert value is None and judged.cvalue is None, name
        elif p.sf is None or sfs.get(p.sf) is not None:
            assert value == pytest.approx(judged.cvalue), name
        else:  # pysunspec2 hands out the unscaled raw; the gateway refuses to guess
            assert value is None, name


@pytest.mark.parametrize("kind", KINDS)
def test_gateway_and_pysunspec2_read_every_point_of_a_simulated_device_alike(kind: str) -> None:
    dev, image = run_device(kind)
    blocks = gateway_blocks(image)
    assert list(blocks) == list(dev.image.model_addresses)
    for block in blocks.values():
        assert_same_reading(block, judge(block))


@pytest.mark.parametrize("kind", KINDS)
def test_the_simulators_point_table_is_the_gateways_layout(kind: str) -> None:
    dev, image = run_device(kind)
    for p in dev.image.points.values():
        layout = model_layout(p.model_id)
        gp = layout.points[p.name]
        assert p.address == dev.image.model_addresses[p.model_id] + gp.offset
        assert (p.size, p.type, p.sf, p.symbols) == (gp.size, gp.type, gp.sf, gp.symbols)
    blocks = gateway_blocks(image)
    for name, raw in dev.controls.items():  # what the simulator decoded from the writes
        p = dev.image.writable_points[name]
        assert blocks[p.model_id].raw(name) == raw, name


@pytest.mark.parametrize("kind", KINDS)
def test_scale_factors_are_the_simulators_on_both_decoders(kind: str) -> None:
    dev, image = run_device(kind)
    blocks = gateway_blocks(image)
    expected = {
        701: {"W_SF": dev.sf.w, "V_SF": dev.sf.v, "Hz_SF": dev.sf.hz, "A_SF": dev.sf.a},
        702: {"W_SF": dev.sf.w, "VA_SF": dev.sf.w, "Var_SF": dev.sf.w, "V_SF": dev.sf.v},
        704: {"WSet_SF": dev.sf.wset, "WMaxLimPct_SF": dev.sf.pct, "WSetPct_SF": dev.sf.pct},
    }
    if 713 in blocks:
        expected[713] = {"WH_SF": dev.sf.wh, "Pct_SF": dev.sf.pct}
    for model_id, sfs in expected.items():
        theirs = judge(blocks[model_id])
        assert sfs.items() <= blocks[model_id].scale_factors().items()
        assert {n: theirs.points[n].value for n in sfs} == sfs


def test_an_ev_charger_without_a_car_is_not_implemented_on_both_decoders() -> None:
    _, image = run_device("ev_charger", sessions=[])
    m713 = gateway_blocks(image)[713]
    theirs = judge(m713)
    for name in ("SoC", "WHAvail"):
        assert m713.raw(name) is None and m713.value(name) is None
        assert theirs.points[name].value is None and theirs.points[name].cvalue is None
    assert_same_reading(m713, theirs)


def test_not_implemented_measurements_and_scale_factors_read_alike() -> None:
    """A device that stops measuring: 701 ``W`` = 0x8000 (int16), ``Hz`` = 0xFFFF
    (uint16), ``TotWhInj`` all ones (uint64), ``VA_SF`` = 0x8000 (its points unscaled)."""
    dev, image = run_device("battery")
    base = ss.BASE_ADDRESS
    for name in ("W", "Hz", "TotWhInj", "VA_SF"):
        p = dev.image.point(701, name)
        i = p.address - base
        image[i : i + p.size] = ss.not_implemented_registers(p.type, p.size)
    m701 = gateway_blocks(image)[701]
    theirs = judge(m701)
    for name in ("W", "Hz", "TotWhInj", "VA_SF"):
        assert m701.raw(name) is None and theirs.points[name].value is None, name
    assert m701.raw("VA") is not None and m701.value("VA") is None
    assert_same_reading(m701, theirs)

"""The one SunSpec point-type table against pysunspec2 1.3.7, the third-party judge:
register counts, decoding, and which raw value means "not implemented" (acc* 0,
count 0xFFFF included)."""

from __future__ import annotations

import struct

import pytest
from sunspec2 import mb
from sunspec2.device import Model, get_model_def

from vpp.codecs import sunspec as ss


def as_bytes(registers: list[int]) -> bytes:
    return struct.pack(f">{len(registers)}H", *registers)


def candidates(type_: str) -> list[int]:
    """Edge values of ``type_``: 0, 1, -1 where signed, the extremes, and its marker."""
    t = ss.POINT_TYPES[type_]
    bits = 16 * t.registers
    signed = t.struct_format[1].islower()
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    values = {0, 1, lo, hi, lo + 1, hi - 1} | ({-1} if signed else set())
    if t.not_implemented is not None:
        values.add(t.not_implemented)
    return sorted(values)


@pytest.mark.parametrize("type_", sorted(ss.POINT_TYPES))
def test_register_count_is_pysunspec2s(type_: str) -> None:
    assert ss.POINT_TYPES[type_].registers == mb.point_type_info[type_].len


@pytest.mark.parametrize("type_", sorted(ss.POINT_TYPES))
def test_decoding_and_not_implemented_agree_with_pysunspec2(type_: str) -> None:
    info = mb.point_type_info[type_]
    for value in candidates(type_):
        regs = ss.encode_raw(type_, value)
        theirs = info.data_to(as_bytes(regs))
        ours = ss.decode_raw(type_, regs)
        assert ss.decode_int(type_, regs) == value == theirs
        if info.is_impl(theirs):
            assert ours == value, (type_, value)
        else:
            assert ours is None, (type_, value)
            assert not ss.is_implemented(type_, value)


@pytest.mark.parametrize("type_", sorted(ss.POINT_TYPES))
def test_not_implemented_registers_are_the_ones_pysunspec2_writes(type_: str) -> None:
    t = ss.POINT_TYPES[type_]
    regs = ss.not_implemented_registers(type_, t.registers)
    assert as_bytes(regs) == mb.create_unimpl_value(type_, len=2 * t.registers)
    if t.not_implemented is not None:
        assert ss.decode_raw(type_, regs) is None
        assert ss.not_implemented_value(type_) == t.not_implemented


def test_accumulators_are_not_implemented_at_zero_and_counts_at_all_ones() -> None:
    """The two types on which the gateway's and the simulators' old tables disagreed."""
    for acc in ("acc16", "acc32", "acc64"):
        assert ss.decode_raw(acc, ss.encode_raw(acc, 0)) is None
        assert ss.decode_raw(acc, ss.encode_raw(acc, 1)) == 1
        assert not mb.point_type_info[acc].is_impl(0)
    assert ss.decode_raw("count", [0xFFFF]) is None
    assert ss.decode_raw("count", [0]) == 0
    assert not mb.point_type_info["count"].is_impl(0xFFFF)
    assert mb.point_type_info["count"].is_impl(0)


def test_an_acc32_point_of_a_real_model_reads_as_pysunspec2_reads_it() -> None:
    """Model 101 (single-phase inverter) carries ``WH`` as an acc32."""
    layout = ss.layout_from_definition(get_model_def(101))
    assert layout.points["WH"].type == "acc32"
    theirs = Model(model_id=101, data={})
    assert as_bytes(list(layout.empty_registers)) == theirs.get_mb()
    regs = list(layout.empty_registers)
    block = ss.ModelBlock(layout, 0, regs)
    assert block.raw("WH") is None and block.value("WH") is None
    wh = layout.points["WH"]
    regs[wh.offset : wh.offset + wh.size] = ss.encode_raw("acc32", 123456)
    regs[layout.points["WH_SF"].offset] = ss.encode_raw("sunssf", 1)[0]
    theirs.set_mb(data=as_bytes(regs))
    assert not theirs.error_info
    assert ss.ModelBlock(layout, 0, regs).value("WH") == pytest.approx(1234560.0)
    assert theirs.points["WH"].cvalue == pytest.approx(1234560.0)


def test_strings_read_as_pysunspec2_reads_them() -> None:
    info = mb.point_type_info["string"]
    for text in ("vpp", "a" * 32, ""):
        regs = ss.encode_string(text, 16)
        theirs = info.data_to(as_bytes(regs))
        assert ss.decode_string(regs) == (theirs if info.is_impl(theirs) else None)
    assert as_bytes(ss.not_implemented_registers("string", 8)) == mb.create_unimpl_value(
        "string", len=16
    )


@pytest.mark.parametrize("model_id", [1, 701, 702, 704, 713, 715])
def test_layouts_and_empty_models_are_pysunspec2s(model_id: int) -> None:
    layout = ss.layout_from_definition(get_model_def(model_id))
    theirs = Model(model_id=model_id, data={})
    assert layout.length == theirs.len
    assert as_bytes(list(layout.empty_registers)) == theirs.get_mb()
    assert list(layout.points) == list(theirs.points)
    for name, p in theirs.points.items():
        ours = layout.points[name]
        assert (ours.offset, ours.size, ours.type) == (p.offset, p.len, p.pdef["type"])


def test_a_model_with_repeating_groups_is_refused_not_misread() -> None:
    with pytest.raises(ss.SunSpecDecodeError, match="repeating"):
        ss.layout_from_definition(get_model_def(160))  # MPPT: one group per module

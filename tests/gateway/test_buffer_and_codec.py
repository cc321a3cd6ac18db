"""The disk buffer's bound and order, and the SunSpec register codec (sans-I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.physics import example_ratings, make_model
from simulators.sunspec import SunSpecDevice
from vpp.adapters.modbus.sunspec_models import model_layout
from vpp.adapters.nats.buffer import DiskTelemetryBuffer
from vpp.codecs import sunspec as ss
from vpp.domain import DerKind


def test_buffer_is_fifo_survives_reopen_and_counts_drops(tmp_path: Path) -> None:
    path = tmp_path / "buf.sqlite"
    buf = DiskTelemetryBuffer(path, max_bytes=1000)
    for i in range(5):
        assert buf.append("s", f"m{i}", bytes(100), readings=10) == 0
    assert [b.msg_id for b in buf.oldest(3)] == ["m0", "m1", "m2"]
    buf.remove(buf.oldest(2))
    buf.close()
    buf = DiskTelemetryBuffer(path, max_bytes=1000)  # a restarted gateway
    assert (buf.depth_batches, buf.depth_readings, buf.depth_bytes) == (3, 30, 300)
    # the bound: 1000 bytes; 8 more batches of 100 -> the oldest are dropped, counted
    dropped = sum(buf.append("s", f"n{i}", bytes(100), readings=10) for i in range(8))
    assert dropped == 10 and buf.dropped_readings == 10 and buf.dropped_batches == 1
    assert buf.depth_bytes == 1000
    assert buf.oldest(1)[0].msg_id == "m3"
    buf.close()
    assert DiskTelemetryBuffer(path, max_bytes=1000).dropped_readings == 10


def _image(kind: DerKind) -> tuple[SunSpecDevice, list[int]]:
    dev = SunSpecDevice(make_model(kind, "d-1", example_ratings(kind)))
    return dev, list(dev.image.registers)


def test_codec_decodes_a_simulated_register_image() -> None:
    dev, regs = _image(DerKind.BATTERY)
    base = ss.BASE_ADDRESSES[0]
    assert ss.is_suns_marker(regs)
    chain = []
    addr = base + 2
    while True:
        mid, length = ss.parse_header(regs[addr - base : addr - base + 2])
        if mid == ss.END_MODEL_ID:
            break
        chain.append(mid)
        assert length + 2 == model_layout(mid).length
        addr += 2 + length
    assert chain == [1, 701, 702, 704, 713, 715]
    a702 = dev.image.model_addresses[702] - base
    layout = model_layout(702)
    block = ss.ModelBlock(layout, 0, regs[a702 : a702 + layout.length])
    assert block.value("WMaxRtg") == pytest.approx(5000.0)
    assert block.raw("ID") == 702


def test_codec_marks_unimplemented_and_encodes_contiguous_writes() -> None:
    assert ss.decode_raw("int16", [0x8000]) is None
    assert ss.decode_raw("int16", [0xFFFF]) == -1
    assert ss.decode_raw("int32", ss.encode_raw("int32", -5000)) == -5000
    layout = model_layout(704)
    offset, regs = ss.encode_writes(layout, {"WSetEna": 1, "WSetMod": 1, "WSet": -2000})
    assert offset == layout.points["WSetEna"].offset and len(regs) == 4
    with pytest.raises(ValueError, match="gap"):
        ss.encode_writes(layout, {"WSetEna": 1, "WSetRvrtTms": 5})
    with pytest.raises(ValueError, match="read-only"):
        ss.encode_writes(layout, {"WSetRvrtRem": 1})
    block = ss.ModelBlock(layout, 0, [0] * 10)
    with pytest.raises(ss.SunSpecDecodeError):
        block.raw("WSet")

"""SunSpec over Modbus, sans-I/O: the map's markers, decoding of register blocks into
scaled values and encoding of control writes.

Addresses are PDU addresses.  A device's map is ``b"SunS"`` at a base address, its
models one after another (each ``ID, L, body``) and the end marker ``0xFFFF, 0``.  Point
types live in :mod:`vpp.codecs.sunspec_types`, model layouts in
:mod:`vpp.codecs.sunspec_layout`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vpp.codecs.sunspec_layout import (
    ModelDefinition,
    ModelLayout,
    PointLayout,
    layout_from_definition,
)
from vpp.codecs.sunspec_types import (
    POINT_TYPES,
    SCALE_FACTOR_RANGE,
    PointType,
    SunSpecDecodeError,
    decode_int,
    decode_raw,
    decode_string,
    encode_raw,
    encode_string,
    fits,
    is_implemented,
    not_implemented_registers,
    not_implemented_value,
)

__all__ = [
    "BASE_ADDRESS",
    "BASE_ADDRESSES",
    "END_MARKER",
    "END_MODEL_ID",
    "POINT_TYPES",
    "SUNS_MARKER",
    "ModelBlock",
    "ModelDefinition",
    "ModelLayout",
    "PointLayout",
    "PointType",
    "SunSpecDecodeError",
    "decode_int",
    "decode_raw",
    "decode_string",
    "encode_raw",
    "encode_string",
    "encode_writes",
    "fits",
    "is_implemented",
    "is_suns_marker",
    "layout_from_definition",
    "not_implemented_registers",
    "not_implemented_value",
    "parse_header",
]

SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF
END_MARKER = (END_MODEL_ID, 0x0000)
BASE_ADDRESS = 40000  # the usual PDU address of "SunS"
BASE_ADDRESSES = (BASE_ADDRESS, 0, 50000)  # where a SunSpec map may start (SunSpec spec, 4.2)


@dataclass(frozen=True, slots=True)
class ModelBlock:
    """Registers of one model read from ``start_offset`` on (offsets as in the layout)."""

    layout: ModelLayout
    start_offset: int
    registers: Sequence[int]

    def raw(self, name: str) -> int | None:
        p = self.layout.points[name]
        i = p.offset - self.start_offset
        if i < 0 or i + p.size > len(self.registers):
            raise SunSpecDecodeError(f"{self.layout.model_id}.{name} is outside the block read")
        return decode_raw(p.type, self.registers[i : i + p.size])

    def value(self, name: str, sfs: Mapping[str, int] | None = None) -> float | None:
        """Scaled value (``raw * 10**sf``); ``None`` if the point or its SF is unimplemented."""
        raw = self.raw(name)
        if raw is None:
            return None
        sf_name = self.layout.points[name].sf
        if sf_name is None:
            return float(raw)
        sf = (sfs or {}).get(sf_name)
        if sf is None:
            sf = self.raw(sf_name)
        if sf is None or sf not in SCALE_FACTOR_RANGE:
            return None
        return raw * 10.0**sf

    def scale_factors(self) -> dict[str, int]:
        """Every implemented scale factor inside the block, by point name."""
        out: dict[str, int] = {}
        for name, p in self.layout.points.items():
            if p.type == "sunssf":
                i = p.offset - self.start_offset
                if 0 <= i < len(self.registers):
                    v = decode_raw("sunssf", self.registers[i : i + 1])
                    if v is not None:
                        out[name] = v
        return out


def is_suns_marker(registers: Sequence[int]) -> bool:
    return tuple(registers[:2]) == SUNS_MARKER


def parse_header(registers: Sequence[int]) -> tuple[int, int]:
    """``(model_id, length)`` from the two header registers of a model."""
    if len(registers) < 2:
        raise SunSpecDecodeError("short model header")
    return int(registers[0]), int(registers[1])


def encode_writes(layout: ModelLayout, values: Mapping[str, int]) -> tuple[int, list[int]]:
    """One contiguous write of raw ``values``: ``(offset, registers)``.

    The names must cover a gap-free run of writable points (a write that spans a
    read-only register is refused by a well-behaved device).
    """
    pts = sorted((layout.points[n] for n in values), key=lambda p: p.offset)
    regs: list[int] = []
    expected = pts[0].offset
    for p in pts:
        if not p.writable:
            raise ValueError(f"{layout.model_id}.{p.name} is read-only")
        if p.offset != expected:
            raise ValueError(f"{layout.model_id}: write has a gap before {p.name}")
        regs.extend(encode_raw(p.type, values[p.name]))
        expected = p.offset + p.size
    return pts[0].offset, regs

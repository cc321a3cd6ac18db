"""SunSpec register codec (sans-I/O): point layouts from pysunspec2's model definitions,
decoding of register blocks into scaled values, encoding of control writes.

Addresses are PDU addresses.  A model sits at the address of its ``ID`` register; point
offsets count from there (``ID`` = 0, ``L`` = 1), exactly as pysunspec2 lays them out.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from sunspec2.device import Model

from vpp.domain.errors import VppError

SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF
BASE_ADDRESSES = (40000, 0, 50000)  # where a SunSpec map may start (SunSpec spec, 4.2)
MAX_REGISTERS_PER_READ = 125

# type -> (struct format, registers, raw value meaning "not implemented")
_TYPES: dict[str, tuple[str, int, int | None]] = {
    "int16": (">h", 1, -0x8000),
    "uint16": (">H", 1, 0xFFFF),
    "acc16": (">H", 1, None),
    "enum16": (">H", 1, 0xFFFF),
    "bitfield16": (">H", 1, 0xFFFF),
    "sunssf": (">h", 1, -0x8000),
    "count": (">H", 1, None),
    "int32": (">i", 2, -0x80000000),
    "uint32": (">I", 2, 0xFFFFFFFF),
    "acc32": (">I", 2, None),
    "enum32": (">I", 2, 0xFFFFFFFF),
    "bitfield32": (">I", 2, 0xFFFFFFFF),
    "int64": (">q", 4, -0x8000000000000000),
    "uint64": (">Q", 4, 0xFFFFFFFFFFFFFFFF),
    "acc64": (">Q", 4, None),
}


class SunSpecDecodeError(VppError, ValueError):
    """Registers that cannot be a SunSpec map (no marker, broken chain, short block)."""


@dataclass(frozen=True, slots=True)
class PointLayout:
    name: str
    offset: int
    size: int
    type: str
    sf: str | None
    writable: bool


@dataclass(frozen=True, slots=True)
class ModelLayout:
    model_id: int
    length: int  # registers including ID and L (the L register says length - 2)
    points: Mapping[str, PointLayout]

    def span(self, first: str, last: str) -> tuple[int, int]:
        """``(offset, count)`` covering points ``first`` .. ``last`` inclusive."""
        a, b = self.points[first], self.points[last]
        return a.offset, b.offset + b.size - a.offset


@cache
def model_layout(model_id: int) -> ModelLayout:
    """Top-level points of a model, from pysunspec2's bundled JSON definition."""
    try:
        model = Model(model_id=model_id)
    except Exception as exc:
        raise SunSpecDecodeError(f"no SunSpec definition for model {model_id}: {exc}") from exc
    points: dict[str, PointLayout] = {}
    for name, p in model.points.items():
        pdef = p.pdef
        sf = pdef.get("sf")
        points[name] = PointLayout(
            name=name,
            offset=int(p.offset),
            size=int(p.len),
            type=str(pdef["type"]),
            sf=sf if isinstance(sf, str) else None,
            writable=pdef.get("access") == "RW",
        )
    return ModelLayout(model_id, int(model.len), points)


def decode_raw(type_: str, registers: Sequence[int]) -> int | None:
    """The raw integer of a point, or ``None`` when the device marks it not implemented."""
    spec = _TYPES.get(type_)
    if spec is None:
        raise SunSpecDecodeError(f"unsupported point type {type_}")
    fmt, size, unimplemented = spec
    if len(registers) < size:
        raise SunSpecDecodeError(f"{type_} needs {size} registers, got {len(registers)}")
    value = int(struct.unpack(fmt, struct.pack(f">{size}H", *registers[:size]))[0])
    return None if value == unimplemented else value


def encode_raw(type_: str, value: int) -> list[int]:
    fmt, size, _ = _TYPES[type_]
    try:
        packed = struct.pack(fmt, value)
    except struct.error as exc:
        raise ValueError(f"{value} does not fit a SunSpec {type_}") from exc
    return list(struct.unpack(f">{size}H", packed))


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
        if sf is None or not -10 <= sf <= 10:
            return None
        return raw * 10.0**sf

    def scale_factors(self) -> dict[str, int]:
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

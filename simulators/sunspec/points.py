"""SunSpec register layout from pysunspec2's model definitions (sans-I/O).

A device's image is ``b"SunS"`` at the base address, its models one after another
(each ``ID, L, body``) and the end marker ``0xFFFF, 0``.  This module knows where every
top-level point of every model sits, how to encode and decode it, and builds the
initial image through :class:`sunspec2.device.Model`, so the layout is pysunspec2's own.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sunspec2.device import Model

BASE_ADDRESS = 40000  # PDU address of "SunS"
SUNS_MARKER = (0x5375, 0x6E53)
END_MARKER = (0xFFFF, 0x0000)

# type -> (struct format, registers, value meaning "not implemented")
_TYPES: dict[str, tuple[str, int, int]] = {
    "int16": (">h", 1, -0x8000),
    "uint16": (">H", 1, 0xFFFF),
    "acc16": (">H", 1, 0),
    "enum16": (">H", 1, 0xFFFF),
    "bitfield16": (">H", 1, 0xFFFF),
    "sunssf": (">h", 1, -0x8000),
    "count": (">H", 1, 0),
    "int32": (">i", 2, -0x80000000),
    "uint32": (">I", 2, 0xFFFFFFFF),
    "acc32": (">I", 2, 0),
    "enum32": (">I", 2, 0xFFFFFFFF),
    "bitfield32": (">I", 2, 0xFFFFFFFF),
    "int64": (">q", 4, -0x8000000000000000),
    "uint64": (">Q", 4, 0xFFFFFFFFFFFFFFFF),
    "acc64": (">Q", 4, 0),
}


@dataclass(frozen=True, slots=True)
class PointDef:
    """One top-level point of a model, placed at its absolute PDU address."""

    model_id: int
    name: str
    address: int
    size: int
    type: str
    writable: bool
    sf: str | None
    symbols: frozenset[int]

    @property
    def implemented_marker(self) -> int | None:
        spec = _TYPES.get(self.type)
        return spec[2] if spec else None


def encode(type_: str, value: int) -> list[int]:
    """Registers of an integer point value (raw, before scale factor)."""
    fmt, size, _ = _TYPES[type_]
    raw = struct.pack(fmt, value)
    return list(struct.unpack(f">{size}H", raw))


def decode(type_: str, registers: Sequence[int]) -> int:
    fmt, size, _ = _TYPES[type_]
    return int(struct.unpack(fmt, struct.pack(f">{size}H", *registers[:size]))[0])


def fits(type_: str, value: int) -> bool:
    fmt, _, _ = _TYPES[type_]
    try:
        struct.pack(fmt, value)
    except struct.error:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ModelImage:
    """A whole device image: initial registers and the point table."""

    registers: list[int]
    points: Mapping[str, PointDef]  # key "model_id.Name", e.g. "704.WSet"
    model_addresses: Mapping[int, int]  # model id -> address of its ID register
    writable_points: Mapping[str, PointDef]  # bare point name -> point (names are unique)

    def point(self, model_id: int, name: str) -> PointDef:
        return self.points[f"{model_id}.{name}"]

    def offset(self, address: int) -> int:
        return address - BASE_ADDRESS


@dataclass(frozen=True, slots=True)
class _ModelLayout:
    """One model as pysunspec2 lays it out: its empty image and its top-level points."""

    registers: tuple[int, ...]
    points: tuple[tuple[str, int, int, str, str | None, frozenset[int]], ...]


@functools.cache
def _layout(model_id: int) -> _ModelLayout:
    model = Model(model_id=model_id, data={})
    if model.error_info:
        raise ValueError(f"SunSpec model {model_id}: {model.error_info}")
    raw = model.get_mb()
    points = []
    for name, p in model.points.items():
        pdef = p.pdef
        sf = pdef.get("sf") if isinstance(pdef.get("sf"), str) else None
        symbols = frozenset(int(s["value"]) for s in pdef.get("symbols", []))
        points.append((name, int(p.offset), int(p.len), str(pdef["type"]), sf, symbols))
    return _ModelLayout(struct.unpack(f">{len(raw) // 2}H", raw), tuple(points))


def _encode_initial(p: PointDef, value: Any) -> list[int]:
    if p.type == "string":
        data = str(value).encode("ascii")[: p.size * 2].ljust(p.size * 2, b"\0")
        return list(struct.unpack(f">{p.size}H", data))
    return encode(p.type, int(value))


def build_image(
    models: Iterable[tuple[int, Mapping[str, Any]]], writable: Mapping[int, frozenset[str]]
) -> ModelImage:
    """Lay out ``models`` (id, initial raw point values) from ``BASE_ADDRESS``.

    The layout of each model (offsets, sizes, types, "not implemented" values) is
    pysunspec2's, built once per model id.  ``writable`` names, per model, the points this
    device accepts writes to; every other point is read-only on the wire whatever the
    model definition allows.
    """
    regs: list[int] = list(SUNS_MARKER)
    points: dict[str, PointDef] = {}
    addresses: dict[int, int] = {}
    for model_id, data in models:
        layout = _layout(model_id)
        addr = BASE_ADDRESS + len(regs)
        addresses[model_id] = addr
        regs.extend(layout.registers)
        for name, offset, size, type_, sf, symbols in layout.points:
            p = PointDef(
                model_id=model_id,
                name=name,
                address=addr + offset,
                size=size,
                type=type_,
                writable=name in writable.get(model_id, frozenset()),
                sf=sf,
                symbols=symbols,
            )
            points[f"{model_id}.{name}"] = p
            if name in data:
                i = p.address - BASE_ADDRESS
                regs[i : i + size] = _encode_initial(p, data[name])
        unknown = set(data) - {name for name, *_ in layout.points}
        if unknown:
            raise ValueError(f"SunSpec model {model_id} has no points {sorted(unknown)}")
    regs.extend(END_MARKER)
    writable_points = {p.name: p for p in points.values() if p.writable}
    return ModelImage(regs, points, addresses, writable_points)


def scale_factor_for(max_abs: float, type_: str = "int16") -> int:
    """Smallest power-of-ten exponent >= -2 at which ``max_abs`` fits ``type_``."""
    _, size, _ = _TYPES[type_]
    limit = {1: 32767, 2: 2**31 - 1}.get(size, 2**63 - 1)
    if type_.startswith("uint"):
        limit = limit * 2 + 1
    sf = -2
    while max_abs / 10**sf > limit * 0.9:
        sf += 1
    return sf


def writable_ranges(image: ModelImage) -> list[tuple[int, int, bool]]:
    """The image as runs ``(address, length, writable)`` for the server's blocks."""
    writable = [False] * len(image.registers)
    for p in image.points.values():
        if p.writable:
            for i in range(p.size):
                writable[p.address - BASE_ADDRESS + i] = True
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(writable) + 1):
        if i == len(writable) or writable[i] != writable[start]:
            runs.append((BASE_ADDRESS + start, i - start, writable[start]))
            start = i
    return runs

"""The SunSpec point types: register count, struct format and "not implemented" value.

The one table for the simulators (which encode registers) and the gateway (which
decodes them).  Raw values are integers before the scale factor; strings are ASCII,
NUL-padded.  A value equal to its type's not-implemented value decodes to ``None``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vpp.domain.errors import VppError


class SunSpecDecodeError(VppError, ValueError):
    """Registers that cannot be a SunSpec map (no marker, broken chain, short block)."""


@dataclass(frozen=True, slots=True)
class PointType:
    name: str
    struct_format: str
    registers: int
    not_implemented: int | None  # None: every value is a value (``pad``)


# Not-implemented values as the SunSpec Information Model Specification defines them and
# pysunspec2 1.3.7 implements them (sunspec2/mb.py, ``unimpl_value`` and the
# ``is_impl_*`` checks used by ``Point.set_mb``):
# * int*: the most negative value; uint*, enum*, bitfield*: all ones; sunssf: -32768;
# * acc16/acc32/acc64 (accumulators): 0 -- an accumulator that is not implemented reads
#   0, and 0 reads as "not accumulated" (``SUNS_UNIMPL_ACC* = 0``), so a decoder must
#   not report it as a quantity of zero.  (The gateway's old copy of this table had no
#   not-implemented value here, which would have decoded 0 as a real 0 Wh.)
# * count (the instance count of a repeating group) is a uint16 on the wire: 0xFFFF,
#   pysunspec2 maps it to ``SUNS_UNIMPL_UINT16`` and checks it with ``is_impl_uint16``.
#   (The simulators' old copy said 0, which is a valid count: "no instances".)
# * pad: always 0 and never not implemented (``is_impl_pad`` is always true).
POINT_TYPES: Mapping[str, PointType] = {
    t.name: t
    for t in (
        PointType("int16", ">h", 1, -0x8000),
        PointType("uint16", ">H", 1, 0xFFFF),
        PointType("count", ">H", 1, 0xFFFF),
        PointType("acc16", ">H", 1, 0),
        PointType("enum16", ">H", 1, 0xFFFF),
        PointType("bitfield16", ">H", 1, 0xFFFF),
        PointType("sunssf", ">h", 1, -0x8000),
        PointType("pad", ">H", 1, None),
        PointType("int32", ">i", 2, -0x80000000),
        PointType("uint32", ">I", 2, 0xFFFFFFFF),
        PointType("acc32", ">I", 2, 0),
        PointType("enum32", ">I", 2, 0xFFFFFFFF),
        PointType("bitfield32", ">I", 2, 0xFFFFFFFF),
        PointType("int64", ">q", 4, -0x8000000000000000),
        PointType("uint64", ">Q", 4, 0xFFFFFFFFFFFFFFFF),
        PointType("acc64", ">Q", 4, 0),
    )
}
STRING = "string"
SCALE_FACTOR_RANGE = range(-10, 11)  # SunSpec: a sunssf is -10 .. 10


def point_type(name: str) -> PointType:
    try:
        return POINT_TYPES[name]
    except KeyError:
        raise SunSpecDecodeError(f"unsupported point type {name}") from None


def decode_int(type_: str, registers: Sequence[int]) -> int:
    """The raw integer of a point, the not-implemented value included."""
    t = point_type(type_)
    if len(registers) < t.registers:
        raise SunSpecDecodeError(f"{type_} needs {t.registers} registers, got {len(registers)}")
    data = struct.pack(f">{t.registers}H", *registers[: t.registers])
    return int(struct.unpack(t.struct_format, data)[0])


def decode_raw(type_: str, registers: Sequence[int]) -> int | None:
    """The raw integer of a point, or ``None`` when the device marks it not implemented."""
    value = decode_int(type_, registers)
    return None if value == point_type(type_).not_implemented else value


def encode_raw(type_: str, value: int) -> list[int]:
    """Registers of a raw integer value; ``ValueError`` if it does not fit the type."""
    t = point_type(type_)
    try:
        packed = struct.pack(t.struct_format, value)
    except struct.error as exc:
        raise ValueError(f"{value} does not fit a SunSpec {type_}") from exc
    return list(struct.unpack(f">{t.registers}H", packed))


def fits(type_: str, value: int) -> bool:
    try:
        encode_raw(type_, value)
    except ValueError:
        return False
    return True


def is_implemented(type_: str, value: int) -> bool:
    return value != point_type(type_).not_implemented


def not_implemented_value(type_: str) -> int:
    """The raw value a device sends for a point of ``type_`` that has no value."""
    marker = point_type(type_).not_implemented
    if marker is None:
        raise ValueError(f"a SunSpec {type_} has no not-implemented value")
    return marker


def encode_string(text: str, size: int) -> list[int]:
    """``size`` registers of ASCII text, cut or NUL-padded."""
    data = text.encode("ascii")[: size * 2].ljust(size * 2, b"\0")
    return list(struct.unpack(f">{size}H", data))


def decode_string(registers: Sequence[int]) -> str | None:
    """The text of a string point; ``None`` (not implemented) if it starts with NUL."""
    data = struct.pack(f">{len(registers)}H", *registers)
    if not data or data[0] == 0:
        return None
    return data.rstrip(b"\0").decode("utf-8", errors="replace")


def not_implemented_registers(type_: str, size: int) -> list[int]:
    """The registers of a point that carries no value (a string or pad: all zeros)."""
    if type_ == STRING:
        return [0] * size
    t = point_type(type_)
    return encode_raw(type_, 0 if t.not_implemented is None else t.not_implemented)

"""The register image of a simulated SunSpec device, laid out by the shared codec.

A device's image is ``b"SunS"`` at the base address, its models one after another
(each ``ID, L, body``) and the end marker ``0xFFFF, 0``.  Point types, their encoding
and "not implemented" values, and each model's layout are :mod:`vpp.codecs.sunspec`'s
(the same code the gateway decodes with); the model definitions are pysunspec2's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sunspec2.device import get_model_def

from vpp.codecs.sunspec import (
    BASE_ADDRESS,
    END_MARKER,
    POINT_TYPES,
    SUNS_MARKER,
    ModelLayout,
    encode_raw,
    encode_string,
    layout_from_definition,
)
from vpp.codecs.sunspec_vpp import VENDOR_MODELS

__all__ = [
    "BASE_ADDRESS",
    "END_MARKER",
    "SUNS_MARKER",
    "InitialValue",
    "ModelImage",
    "PointDef",
    "build_image",
    "model_layout",
    "scale_factor_for",
    "writable_ranges",
]

InitialValue = int | str  # a raw integer, or the text of a string point


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


@functools.cache
def model_layout(model_id: int) -> ModelLayout:
    """The codec's layout of a model: vpp's own (:mod:`vpp.codecs.sunspec_vpp`), else
    from pysunspec2's bundled definition."""
    vendor = VENDOR_MODELS.get(model_id)
    return layout_from_definition(vendor if vendor is not None else get_model_def(model_id))


def _encode_initial(p: PointDef, value: InitialValue) -> list[int]:
    if p.type == "string":
        return encode_string(str(value), p.size)
    return encode_raw(p.type, int(value))


def _place_model(
    regs: list[int],
    model_id: int,
    data: Mapping[str, InitialValue],
    writable: frozenset[str],
) -> dict[str, PointDef]:
    """Append one model to ``regs`` with its initial ``data``; return its points."""
    layout = model_layout(model_id)
    unknown = set(data) - set(layout.points)
    if unknown:
        raise ValueError(f"SunSpec model {model_id} has no points {sorted(unknown)}")
    addr = BASE_ADDRESS + len(regs)
    regs.extend(layout.empty_registers)
    points: dict[str, PointDef] = {}
    for name, pl in layout.points.items():
        p = PointDef(
            model_id=model_id,
            name=name,
            address=addr + pl.offset,
            size=pl.size,
            type=pl.type,
            writable=name in writable,
            sf=pl.sf,
            symbols=pl.symbols,
        )
        points[f"{model_id}.{name}"] = p
        if name in data:
            i = p.address - BASE_ADDRESS
            regs[i : i + p.size] = _encode_initial(p, data[name])
    return points


def build_image(
    models: Iterable[tuple[int, Mapping[str, InitialValue]]],
    writable: Mapping[int, frozenset[str]],
) -> ModelImage:
    """Lay out ``models`` (id, initial raw point values) from ``BASE_ADDRESS``.

    The layout of each model (offsets, sizes, types, "not implemented" values) is the
    codec's, built once per model id.  ``writable`` names, per model, the points this
    device accepts writes to; every other point is read-only on the wire whatever the
    model definition allows.
    """
    regs: list[int] = list(SUNS_MARKER)
    points: dict[str, PointDef] = {}
    addresses: dict[int, int] = {}
    for model_id, data in models:
        addresses[model_id] = BASE_ADDRESS + len(regs)
        points.update(_place_model(regs, model_id, data, writable.get(model_id, frozenset())))
    regs.extend(END_MARKER)
    writable_points = {p.name: p for p in points.values() if p.writable}
    return ModelImage(regs, points, addresses, writable_points)


def scale_factor_for(max_abs: float, type_: str = "int16") -> int:
    """Smallest power-of-ten exponent >= -2 at which ``max_abs`` fits ``type_``."""
    size = POINT_TYPES[type_].registers
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

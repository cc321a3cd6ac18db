"""Where the points of a SunSpec model sit, from its model definition (the JSON of the
SunSpec models repository, as pysunspec2 bundles it).

Offsets count from the model's ``ID`` register (``ID`` = 0, ``L`` = 1), exactly as
pysunspec2 lays a model out: the top-level points in order, then the points of each
fixed group (repeating groups are refused: no model the simulators or the gateway use
has one).  The definition is passed in (the callers load it through pysunspec2);
this module only reads the mapping.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vpp.codecs.sunspec_types import (
    STRING,
    SunSpecDecodeError,
    encode_raw,
    not_implemented_registers,
    point_type,
)

ModelDefinition = Mapping[str, Any]  # parsed JSON: {"id": .., "group": {"points": ..}}


@dataclass(frozen=True, slots=True)
class PointLayout:
    """One top-level point of a model."""

    name: str
    offset: int  # registers from the model's ID register
    size: int
    type: str
    sf: str | None  # name of the scale-factor point, if any
    writable: bool  # the definition says RW (a device may still refuse the write)
    symbols: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class ModelLayout:
    model_id: int
    length: int  # registers including ID and L (the L register says length - 2)
    points: Mapping[str, PointLayout]
    empty_registers: tuple[int, ...]  # ID, L, every point not implemented

    def span(self, first: str, last: str) -> tuple[int, int]:
        """``(offset, count)`` covering points ``first`` .. ``last`` inclusive."""
        a, b = self.points[first], self.points[last]
        return a.offset, b.offset + b.size - a.offset


def _size(pdef: Mapping[str, Any]) -> int:
    if pdef["type"] == STRING:
        return int(pdef["size"])
    return point_type(str(pdef["type"])).registers


def _group_points(group: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The points of ``group`` and of its fixed sub-groups, in register order."""
    yield from group.get("points", ())
    for sub in group.get("groups", ()):
        # A "count" (a point's name, or 0: as many as the model length holds) makes the
        # group repeating; its instances are known only from a device's L register.
        if sub.get("count") is not None:
            raise SunSpecDecodeError(f"repeating group {sub.get('name')} is not supported")
        yield from _group_points(sub)


def _empty(pdef: Mapping[str, Any], model_id: int, length: int) -> list[int]:
    name, type_ = pdef["name"], str(pdef["type"])
    if name == "ID":
        return encode_raw(type_, model_id)
    if name == "L":
        return encode_raw(type_, length - 2)
    return not_implemented_registers(type_, _size(pdef))


def layout_from_definition(model_def: ModelDefinition) -> ModelLayout:
    """The layout of a model (its top-level points) and its empty register image."""
    model_id = int(model_def["id"])
    group = model_def["group"]
    every = list(_group_points(group))
    length = sum(_size(p) for p in every)
    points: dict[str, PointLayout] = {}
    offset = 0
    for pdef in group.get("points", ()):
        sf = pdef.get("sf")
        points[pdef["name"]] = PointLayout(
            name=pdef["name"],
            offset=offset,
            size=_size(pdef),
            type=str(pdef["type"]),
            sf=sf if isinstance(sf, str) else None,
            writable=pdef.get("access") == "RW",
            symbols=frozenset(int(s["value"]) for s in pdef.get("symbols", ())),
        )
        offset += _size(pdef)
    empty = [r for p in every for r in _empty(p, model_id, length)]
    return ModelLayout(model_id, length, points, tuple(empty))

"""The dataclasses of a parsed IEC 61850 SCL document (see :mod:`vpp.codecs.scl`).

Frozen values, no parsing here: one IED's logical devices and nodes, their data objects
with the common data class of each, the type templates, data sets and report control
blocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from vpp.domain.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class SclAttribute:
    """A DA (in a DOType) or BDA (in a DAType); ``type_id`` names a DAType or EnumType."""

    name: str
    btype: str
    fc: str = ""
    type_id: str = ""
    dchg: bool = False
    qchg: bool = False


@dataclass(frozen=True, slots=True)
class SclDoType:
    id: str
    cdc: str
    attributes: tuple[SclAttribute, ...] = ()
    sub_objects: tuple[tuple[str, str], ...] = ()  # (SDO name, DOType id)


@dataclass(frozen=True, slots=True)
class SclDataObject:
    name: str
    cdc: str
    type_id: str
    desc: str = ""


@dataclass(frozen=True, slots=True)
class SclLogicalNode:
    prefix: str
    ln_class: str
    inst: str
    ln_type: str
    desc: str = ""
    data_objects: tuple[SclDataObject, ...] = ()
    initial: Mapping[str, str] = field(default_factory=dict)  # "DO.DA" -> Val text

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.inst}"

    def data_object(self, name: str) -> SclDataObject:
        for do in self.data_objects:
            if do.name == name:
                return do
        raise InvalidValue(f"{self.name} has no data object {name!r}")


@dataclass(frozen=True, slots=True)
class SclFcda:
    ld_inst: str
    prefix: str
    ln_class: str
    ln_inst: str
    do_name: str
    da_name: str
    fc: str

    @property
    def ln_name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.ln_inst}"

    @property
    def mms_name(self) -> str:
        """Variable name inside the LD, e.g. ``MMXU1$MX$TotW``."""
        parts = [self.ln_name, self.fc, *self.do_name.split(".")]
        if self.da_name:
            parts += self.da_name.split(".")
        return "$".join(parts)


@dataclass(frozen=True, slots=True)
class SclDataSet:
    name: str
    members: tuple[SclFcda, ...]


@dataclass(frozen=True, slots=True)
class SclReportControl:
    name: str
    data_set: str
    rpt_id: str
    buffered: bool
    conf_rev: int
    buf_time_ms: int
    intg_pd_ms: int
    trigger_options: frozenset[str]  # of dchg, qchg, dupd, period, gi
    optional_fields: frozenset[str]  # e.g. seqNum, timeStamp, dataSet, reasonCode
    max_clients: int = 1


@dataclass(frozen=True, slots=True)
class SclLogicalDevice:
    inst: str
    desc: str
    logical_nodes: tuple[SclLogicalNode, ...]
    data_sets: tuple[SclDataSet, ...] = ()
    report_controls: tuple[SclReportControl, ...] = ()

    def logical_node(self, name: str) -> SclLogicalNode:
        for ln in self.logical_nodes:
            if ln.name == name:
                return ln
        raise InvalidValue(f"logical device {self.inst} has no logical node {name!r}")


@dataclass(frozen=True, slots=True)
class SclDocument:
    ied_name: str
    ied_desc: str
    logical_devices: tuple[SclLogicalDevice, ...]
    do_types: Mapping[str, SclDoType]
    da_types: Mapping[str, tuple[SclAttribute, ...]]
    enum_types: Mapping[str, Mapping[int, str]]

    def logical_device(self, inst: str | None = None) -> SclLogicalDevice:
        for ld in self.logical_devices:
            if inst is None or ld.inst == inst:
                return ld
        raise InvalidValue(f"no logical device {inst!r}")

    def leaf_attributes(self, do: SclDataObject) -> Iterator[tuple[str, str, str]]:
        """Every leaf attribute of ``do`` as ``(path, fc, bType)``, e.g. ``("mag.f", "MX",
        "FLOAT32")``; sub data objects are included with their dotted path."""
        yield from self._leaves(self.do_types[do.type_id], "")

    def _leaves(self, dot: SclDoType, prefix: str) -> Iterator[tuple[str, str, str]]:
        for sdo_name, sdo_type in dot.sub_objects:
            yield from self._leaves(self.do_types[sdo_type], f"{prefix}{sdo_name}.")
        for da in dot.attributes:
            yield from self._da_leaves(da, prefix, da.fc)

    def _da_leaves(self, da: SclAttribute, prefix: str, fc: str) -> Iterator[tuple[str, str, str]]:
        if da.btype == "Struct":
            for bda in self.da_types.get(da.type_id, ()):
                yield from self._da_leaves(bda, f"{prefix}{da.name}.", fc)
        else:
            yield f"{prefix}{da.name}", fc, da.btype

"""A small reader for IEC 61850 SCL (ICD/CID) text: what a device offers, by name.

Pure: it takes the file's text and returns frozen dataclasses; callers read the file.
It understands the part of SCL that a DER data model needs: one IED, its logical devices
and nodes, their data objects with the common data class of each (from
``DataTypeTemplates``), initial values (``DOI/DAI/Val``), data sets and report control
blocks.  Anything else in the file is ignored, never rejected.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from vpp.codecs.scl_document import (
    SclAttribute,
    SclDataObject,
    SclDataSet,
    SclDocument,
    SclDoType,
    SclFcda,
    SclLogicalDevice,
    SclLogicalNode,
    SclReportControl,
)
from vpp.domain.errors import InvalidValue

_NS = "{http://www.iec.ch/61850/2003/SCL}"

__all__ = [
    "SclAttribute",
    "SclDataObject",
    "SclDataSet",
    "SclDoType",
    "SclDocument",
    "SclFcda",
    "SclLogicalDevice",
    "SclLogicalNode",
    "SclReportControl",
    "parse_scl",
]


def _bool(el: ET.Element, name: str) -> bool:
    return el.get(name, "false").lower() == "true"


def _attribute(el: ET.Element) -> SclAttribute:
    return SclAttribute(
        name=el.get("name", ""),
        btype=el.get("bType", ""),
        fc=el.get("fc", ""),
        type_id=el.get("type", ""),
        dchg=_bool(el, "dchg"),
        qchg=_bool(el, "qchg"),
    )


@dataclass(frozen=True, slots=True)
class _Templates:
    do_types: dict[str, SclDoType]
    da_types: dict[str, tuple[SclAttribute, ...]]
    enum_types: dict[str, dict[int, str]]
    ln_types: dict[str, tuple[tuple[str, str, str], ...]]  # (DO name, DOType id, desc)


def _templates(root: ET.Element) -> _Templates:
    tpl = root.find(f"{_NS}DataTypeTemplates")
    if tpl is None:
        raise InvalidValue("SCL has no DataTypeTemplates")
    return _Templates(
        do_types={
            t.get("id", ""): SclDoType(
                id=t.get("id", ""),
                cdc=t.get("cdc", ""),
                attributes=tuple(_attribute(a) for a in t.findall(f"{_NS}DA")),
                sub_objects=tuple(
                    (s.get("name", ""), s.get("type", "")) for s in t.findall(f"{_NS}SDO")
                ),
            )
            for t in tpl.findall(f"{_NS}DOType")
        },
        da_types={
            t.get("id", ""): tuple(_attribute(a) for a in t.findall(f"{_NS}BDA"))
            for t in tpl.findall(f"{_NS}DAType")
        },
        enum_types={
            t.get("id", ""): {
                int(v.get("ord", "0")): (v.text or "") for v in t.findall(f"{_NS}EnumVal")
            }
            for t in tpl.findall(f"{_NS}EnumType")
        },
        ln_types={
            t.get("id", ""): tuple(
                (d.get("name", ""), d.get("type", ""), d.get("desc", ""))
                for d in t.findall(f"{_NS}DO")
            )
            for t in tpl.findall(f"{_NS}LNodeType")
        },
    )


def _initial_values(ln: ET.Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for doi in ln.findall(f"{_NS}DOI"):
        for dai in doi.iter(f"{_NS}DAI"):
            val = dai.find(f"{_NS}Val")
            if val is not None:
                values[f"{doi.get('name')}.{dai.get('name')}"] = (val.text or "").strip()
    return values


def _logical_node(ln: ET.Element, tpl: _Templates) -> SclLogicalNode:
    ln_type = ln.get("lnType", "")
    if ln_type not in tpl.ln_types:
        raise InvalidValue(f"LNodeType {ln_type!r} is not defined")
    dos = []
    for name, type_id, desc in tpl.ln_types[ln_type]:
        dot = tpl.do_types.get(type_id)
        if dot is None:
            raise InvalidValue(f"DOType {type_id!r} (of {ln_type}.{name}) is not defined")
        dos.append(SclDataObject(name, dot.cdc, type_id, desc))
    return SclLogicalNode(
        prefix=ln.get("prefix", ""),
        ln_class=ln.get("lnClass", ""),
        inst=ln.get("inst", ""),
        ln_type=ln_type,
        desc=ln.get("desc", ""),
        data_objects=tuple(dos),
        initial=_initial_values(ln),
    )


def _report_control(rc: ET.Element) -> SclReportControl:
    trg = rc.find(f"{_NS}TrgOps")
    opt = rc.find(f"{_NS}OptFields")
    enabled = rc.find(f"{_NS}RptEnabled")
    return SclReportControl(
        name=rc.get("name", ""),
        data_set=rc.get("datSet", ""),
        rpt_id=rc.get("rptID", ""),
        buffered=_bool(rc, "buffered"),
        conf_rev=int(rc.get("confRev", "1")),
        buf_time_ms=int(rc.get("bufTime", "0")),
        intg_pd_ms=int(rc.get("intgPd", "0")),
        trigger_options=frozenset(
            k for k, v in (trg.attrib if trg is not None else {}).items() if v == "true"
        ),
        optional_fields=frozenset(
            k for k, v in (opt.attrib if opt is not None else {}).items() if v == "true"
        ),
        max_clients=int(enabled.get("max", "1")) if enabled is not None else 1,
    )


def _fcda(el: ET.Element) -> SclFcda:
    return SclFcda(
        ld_inst=el.get("ldInst", ""),
        prefix=el.get("prefix", ""),
        ln_class=el.get("lnClass", ""),
        ln_inst=el.get("lnInst", ""),
        do_name=el.get("doName", ""),
        da_name=el.get("daName", ""),
        fc=el.get("fc", ""),
    )


def parse_scl(text: str) -> SclDocument:
    """Parse SCL text (the first IED of the file)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidValue(f"not well-formed SCL: {exc}") from exc
    if root.tag != f"{_NS}SCL":
        raise InvalidValue(f"not an SCL document (root element {root.tag})")
    tpl = _templates(root)
    ied = root.find(f"{_NS}IED")
    if ied is None:
        raise InvalidValue("SCL has no IED")
    lds = []
    for ld in ied.iter(f"{_NS}LDevice"):
        lns = []
        data_sets: list[SclDataSet] = []
        reports: list[SclReportControl] = []
        for ln in ld:
            if ln.tag not in (f"{_NS}LN0", f"{_NS}LN"):
                continue
            lns.append(_logical_node(ln, tpl))
            for ds in ln.findall(f"{_NS}DataSet"):
                members = tuple(_fcda(f) for f in ds.findall(f"{_NS}FCDA"))
                data_sets.append(SclDataSet(ds.get("name", ""), members))
            reports.extend(_report_control(rc) for rc in ln.findall(f"{_NS}ReportControl"))
        lds.append(
            SclLogicalDevice(
                inst=ld.get("inst", ""),
                desc=ld.get("desc", ""),
                logical_nodes=tuple(lns),
                data_sets=tuple(data_sets),
                report_controls=tuple(reports),
            )
        )
    return SclDocument(
        ied_name=ied.get("name", ""),
        ied_desc=ied.get("desc", ""),
        logical_devices=tuple(lds),
        do_types=tpl.do_types,
        da_types=tpl.da_types,
        enum_types=tpl.enum_types,
    )

"""Write the ICD files of ``models/iec61850-7-420/`` from the catalogue.

    python -m simulators.iec61850.make_icd [OUT_DIR]

DataTypeTemplates are described from what libiec61850 actually builds for each common
data class (:func:`simulators.iec61850.cdc.cdc_shape`), so the files match the servers.
The IED is named ``TEMPLATE``; each simulated device gets its own unique IED name.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from simulators.iec61850.catalogue import (
    ENUM_FIRST_ORD,
    ENUMS,
    MEASURED_NODES,
    MEASUREMENT_DO_FC,
    NODES,
    DoSpec,
    LnSpec,
)
from simulators.iec61850.cdc import NodeShape, cdc_shape
from vpp.domain import DerKind

SCL_NS = "http://www.iec.ch/61850/2003/SCL"
LD_INST = "DER"
TEMPLATE_IED = "TEMPLATE"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"
REPORTS = (  # name, buffered
    ("brcbMX01", True),
    ("brcbMX02", True),
    ("urcbMX01", False),
    ("urcbMX02", False),
)
_DA_TYPE_NAMES = {"mag": "AnalogueValue", "mxVal": "AnalogueValue", "setMag": "AnalogueValue"}


def _sub(parent: ET.Element, tag: str, **attrib: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k: v for k, v in attrib.items() if v != ""})


class TemplateWriter:
    """Collects DOType / DAType / EnumType definitions as LNodeTypes need them."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root
        self.do_types: dict[str, ET.Element] = {}
        self.da_types: dict[str, ET.Element] = {}
        self.ln_types: dict[str, ET.Element] = {}

    def do_type(self, cdc: str, enum: str, shape: tuple[NodeShape, ...], type_id: str) -> str:
        if type_id in self.do_types:
            return type_id
        el = ET.Element("DOType", {"id": type_id, "cdc": cdc})
        self.do_types[type_id] = el
        for node in shape:
            if not node.is_attribute:
                sub_id = self.do_type("CMV", "", node.children, f"vpp_CMV_{node.name}")
                _sub(el, "SDO", name=node.name, type=sub_id)
        for node in shape:
            if node.is_attribute:
                self._attribute(el, "DA", node, cdc, enum)
        return type_id

    def _attribute(
        self, parent: ET.Element, tag: str, node: NodeShape, cdc: str, enum: str
    ) -> None:
        attrib = {"name": node.name, "bType": node.btype}
        if tag == "DA":
            attrib["fc"] = node.fc
            if node.dchg:
                attrib["dchg"] = "true"
            if node.qchg:
                attrib["qchg"] = "true"
        if node.btype == "Struct":
            attrib["type"] = self.da_type(node, cdc)
        elif node.btype == "Enum":
            attrib["type"] = {"ctlModel": "CtlModels", "orCat": "OrCat"}.get(node.name, enum)
        _sub(parent, tag, **attrib)

    def da_type(self, node: NodeShape, cdc: str) -> str:
        base = _DA_TYPE_NAMES.get(node.name) or f"{cdc}_{node.name}"
        if node.name == "cVal":
            base = "Vector"
        elif node.name == "origin":
            base = "Originator"
        elif node.name == "ctlVal":
            base = "AnalogueValue"
        type_id = f"vpp_{base}"
        if type_id not in self.da_types:
            el = ET.Element("DAType", {"id": type_id})
            self.da_types[type_id] = el
            for child in node.children:
                self._attribute(el, "BDA", child, cdc, "")
        return type_id

    def ln_type(self, ln: LnSpec) -> str:
        type_id = f"vpp_{ln.ln_class}"
        if type_id not in self.ln_types:
            el = ET.Element("LNodeType", {"id": type_id, "lnClass": ln.ln_class, "desc": ln.desc})
            for do in ln.data_objects:
                do_id = self.do_type(do.cdc, do.enum, cdc_shape(do.cdc), _do_type_id(do))
                _sub(el, "DO", name=do.name, type=do_id, desc=do.desc)
            self.ln_types[type_id] = el
        return type_id

    def finish(self) -> None:
        tpl = _sub(self.root, "DataTypeTemplates")
        for group in (self.ln_types, self.do_types, self.da_types):
            for el in group.values():
                tpl.append(el)
        for name, values in ENUMS.items():
            el = _sub(tpl, "EnumType", id=name)
            first = ENUM_FIRST_ORD.get(name, 1)
            for i, text in enumerate(values):
                _sub(el, "EnumVal", ord=str(first + i)).text = text


def _do_type_id(do: DoSpec) -> str:
    return f"vpp_{do.cdc}_{do.enum}" if do.enum else f"vpp_{do.cdc}"


def _ln0(ld: ET.Element, nodes: tuple[LnSpec, ...], tw: TemplateWriter) -> None:
    lln0 = nodes[0]
    ln0 = ET.SubElement(ld, "LN0", {"lnClass": "LLN0", "inst": "", "lnType": tw.ln_type(lln0)})
    ln0.set("desc", lln0.desc)
    ds = _sub(ln0, "DataSet", name="Measurements", desc="Measured values and states")
    for ln in nodes:
        if ln.ln_class not in MEASURED_NODES:
            continue
        for do in ln.data_objects:
            fc = MEASUREMENT_DO_FC.get(do.cdc)
            if fc:
                _sub(ds, "FCDA", ldInst=LD_INST, lnClass=ln.ln_class, lnInst=ln.inst,
                     doName=do.name, fc=fc)  # fmt: skip
    for name, buffered in REPORTS:
        flag = str(buffered).lower()
        rc = _sub(ln0, "ReportControl", name=name, datSet="Measurements", rptID=name,
                  confRev="1", buffered=flag, bufTime="50", intgPd="1000")  # fmt: skip
        _sub(rc, "TrgOps", dchg="true", qchg="true", period="true", gi="true")
        _sub(rc, "OptFields", seqNum="true", timeStamp="true", dataSet="true",
             reasonCode="true", dataRef="true", entryID=flag, configRef="true")  # fmt: skip
        _sub(rc, "RptEnabled", max="1")
    for do_name, val in (("Mod", "on"), ("Beh", "on"), ("Health", "Ok")):
        _sub(_sub(ln0, "DOI", name=do_name), "DAI", name="stVal").append(_val(val))
    _sub(_sub(ln0, "DOI", name="NamPlt"), "DAI", name="vendor").append(_val("vpp"))


def _val(text: str) -> ET.Element:
    el = ET.Element("Val")
    el.text = text
    return el


def icd_text(kind: DerKind) -> str:
    ET.register_namespace("", SCL_NS)
    root = ET.Element("SCL", {"xmlns": SCL_NS, "version": "2007", "revision": "B", "release": "4"})
    _sub(root, "Header", id=f"vpp-sim-{kind.value}", version="1", revision="0",
         toolID="vpp simulators.iec61850.make_icd", nameStructure="IEDName")  # fmt: skip
    ied = _sub(root, "IED", name=TEMPLATE_IED, manufacturer="vpp", type=f"vpp-sim-{kind.value}",
               desc=f"Simulated {kind.value.replace('_', ' ')} (vpp simulators)")  # fmt: skip
    server = _sub(_sub(ied, "AccessPoint", name="AP1"), "Server")
    _sub(server, "Authentication", none="true")
    ld = _sub(server, "LDevice", inst=LD_INST, desc=f"DER: {kind.value}")
    tw = TemplateWriter(root)
    nodes = NODES[kind]
    _ln0(ld, nodes, tw)
    for ln in nodes[1:]:
        el = _sub(ld, "LN", lnClass=ln.ln_class, inst=ln.inst, lnType=tw.ln_type(ln), desc=ln.desc)
        for do in ln.data_objects:
            if do.cdc in ("APC", "SPC"):
                dai = _sub(_sub(el, "DOI", name=do.name), "DAI", name="ctlModel")
                dai.append(_val("direct-with-normal-security"))
    tw.finish()
    ET.indent(root, "  ")
    body = ET.tostring(root, encoding="unicode").replace(' xmlns="' + SCL_NS + '"', "", 1)
    body = body.replace("<SCL ", f'<SCL xmlns="{SCL_NS}" ', 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for kind in DerKind:
        path = out / f"{kind.value}.icd"
        path.write_text(icd_text(kind), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

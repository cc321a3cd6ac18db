"""The ICD files: readable by vpp.codecs.scl, complete, and equal to what the servers build."""

from __future__ import annotations

from pathlib import Path

import pyiec61850.pyiec61850 as iec
import pytest

from simulators.iec61850.builder import build_model
from simulators.iec61850.catalogue import NODES
from simulators.iec61850.cdc import shape_of
from simulators.iec61850.make_icd import icd_text
from vpp.codecs.scl import parse_scl
from vpp.domain import DerKind
from vpp.domain.errors import InvalidValue

MODELS = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"


def leaves(shape, prefix=""):
    for node in shape:
        if node.children:
            yield from leaves(node.children, f"{prefix}{node.name}.")
        else:
            yield f"{prefix}{node.name}", node.fc, node.btype


@pytest.mark.parametrize("kind", list(DerKind))
def test_committed_icd_files_are_up_to_date(kind):
    assert (MODELS / f"{kind.value}.icd").read_text(encoding="utf-8") == icd_text(kind), (
        "regenerate with: python -m simulators.iec61850.make_icd"
    )


@pytest.mark.parametrize("kind", list(DerKind))
def test_icd_declares_the_der_nodes_a_data_set_and_both_kinds_of_report(kind):
    doc = parse_scl((MODELS / f"{kind.value}.icd").read_text(encoding="utf-8"))
    ld = doc.logical_device("DER")
    names = {ln.name for ln in ld.logical_nodes}
    assert {"LLN0", "LPHD1", "MMXU1", "DRCC1", "DRAT1", "DGEN1"} <= names
    assert names == {spec.name for spec in NODES[kind]}
    assert ld.logical_node("DRCC1").data_object("OutWSet").cdc == "APC"
    assert ld.logical_node("DRCC1").data_object("DERStr").cdc == "SPC"
    assert ld.logical_node("DRCC1").data_object("WSetEna").cdc == "SPC"
    assert ld.logical_node("DRCC1").data_object("OutWSetRvrtTms").cdc == "ING"
    assert {do.name for do in ld.logical_node("MMXU1").data_objects} >= {
        "TotW",
        "TotVAr",
        "Hz",
        "PhV",
    }
    (measurements,) = ld.data_sets
    for member in measurements.members:  # every member names a real data object
        ld.logical_node(member.ln_name).data_object(member.do_name)
    assert "MMXU1$MX$TotW" in {m.mms_name for m in measurements.members}
    kinds = {(rc.buffered, rc.data_set) for rc in ld.report_controls}
    assert kinds == {(True, "Measurements"), (False, "Measurements")}
    totw = ld.logical_node("MMXU1").data_object("TotW")
    assert ("mag.f", "MX", "FLOAT32") in set(doc.leaf_attributes(totw))


@pytest.mark.parametrize("kind", list(DerKind))
def test_server_model_matches_the_file_attribute_for_attribute(kind):
    doc = parse_scl((MODELS / f"{kind.value}.icd").read_text(encoding="utf-8"))
    built = build_model(doc, f"T{kind.value}")
    try:
        for ln in doc.logical_device().logical_nodes:
            for do in ln.data_objects:
                handle = built.data_objects[f"{ln.name}.{do.name}"]
                from_server = set(leaves(shape_of(iec.toModelNode(handle))))
                from_file = set(doc.leaf_attributes(do))
                assert from_server == from_file, f"{ln.name}.{do.name}"
    finally:
        built.destroy()


def test_provenance_doubts_are_written_in_the_files():
    text = (MODELS / "battery.icd").read_text(encoding="utf-8")
    assert text.count("Provenance uncertain") >= 4


def test_bad_scl_is_refused_with_a_domain_error():
    with pytest.raises(InvalidValue):
        parse_scl("<not-scl/>")
    with pytest.raises(InvalidValue):
        parse_scl("<SCL")
    good = (MODELS / "pv.icd").read_text(encoding="utf-8")
    with pytest.raises(InvalidValue, match="LNodeType"):
        parse_scl(good.replace('lnType="vpp_MMXU"', 'lnType="nope"'))

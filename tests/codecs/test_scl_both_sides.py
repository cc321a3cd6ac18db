"""One SCL file per DER kind, read by both sides through :mod:`vpp.codecs.scl`: every MMS
item the gateway adapter derives from it (measurements, data set, setpoint, reversion
timer, ratings, report control blocks) exists, with its functional constraint, in the
model the simulators' server builds from the same file."""

from __future__ import annotations

from pathlib import Path

import pyiec61850.pyiec61850 as iec
import pytest

from simulators.iec61850.builder import BuiltModel, build_model
from simulators.iec61850.cdc import NodeShape, shape_of
from vpp.adapters.iec61850.references import device_references
from vpp.codecs.scl import parse_scl
from vpp.domain import DerKind

MODELS = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"


def server_leaves(built: BuiltModel, ln: str, do: str) -> set[tuple[str, str]]:
    """``(path, fc)`` of every leaf attribute the server built for ``ln.do``."""

    def walk(nodes: tuple[NodeShape, ...], prefix: str) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for node in nodes:
            if node.children:
                out |= walk(node.children, f"{prefix}{node.name}.")
            else:
                out.add((f"{prefix}{node.name}", node.fc))
        return out

    return walk(shape_of(iec.toModelNode(built.data_objects[f"{ln}.{do}"])), "")


def assert_served(built: BuiltModel, item: str) -> None:
    """``item`` is an MMS name inside the LD: ``LN$FC$DO[$DA...]``."""
    ln, fc, do, *da = item.split("$")
    leaves = server_leaves(built, ln, do)
    if da:
        assert (".".join(da), fc) in leaves, item
    else:
        assert fc in {leaf_fc for _, leaf_fc in leaves}, item


@pytest.mark.parametrize("kind", list(DerKind))
def test_what_the_gateway_reads_is_what_the_simulator_serves(kind: DerKind) -> None:
    text = (MODELS / f"{kind.value}.icd").read_text(encoding="utf-8")
    doc = parse_scl(text)
    refs = device_references(doc, f"S{kind.value}", "DER")
    built = build_model(parse_scl(text), f"S{kind.value}")
    try:
        assert built.ld_name == refs.domain
        for m in refs.measurements:
            assert_served(built, f"{m.ln}${m.fc}${m.do}${m.magnitude.replace('.', '$')}")
            assert_served(built, f"{m.ln}${m.fc}${m.do}${m.status.replace('.', '$')}q")
        for member in refs.data_set_members:
            assert_served(built, member)
        assert_served(built, refs.setpoint)
        if refs.reversion is not None:
            assert_served(built, refs.reversion)
        if refs.rating_paths is not None:
            for path in refs.rating_paths:
                assert_served(built, path)
        rcbs = {rc.name for rc in doc.logical_device("DER").report_controls}
        assert {r.split("$")[-1] for r in refs.buffered_rcbs + refs.unbuffered_rcbs} <= rcbs
        assert refs.buffered_rcbs and refs.unbuffered_rcbs
    finally:
        built.destroy()

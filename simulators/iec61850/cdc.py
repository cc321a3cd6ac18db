"""Common data classes: create them in a libiec61850 model, and describe what was made.

The same functions serve the server (build a model from an SCL file's data objects) and
the ICD generator (write DataTypeTemplates that match exactly what the server builds),
so the files the gateway reads and the servers it talks to cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyiec61850.pyiec61850 as iec

# ctlModel values (IEC 61850-7-3) and the libiec61850 constants that build them
CTL_MODELS: dict[str, int] = {
    "status-only": 0,
    "direct-with-normal-security": 1,
    "sbo-with-normal-security": 2,
}
_CDC_CTL = {
    0: iec.CDC_CTL_MODEL_NONE,
    1: iec.CDC_CTL_MODEL_DIRECT_NORMAL,
    2: iec.CDC_CTL_MODEL_SBO_NORMAL,
}
RUNTIME_CTL = {
    1: iec.CONTROL_MODEL_DIRECT_NORMAL,
    2: iec.CONTROL_MODEL_SBO_NORMAL,
}

SUPPORTED_CDCS = ("MV", "WYE", "APC", "SPC", "ASG", "ING", "ENS", "INS", "SPS", "LPL", "DPL")

_BTYPE = {
    iec.IEC61850_BOOLEAN: "BOOLEAN",
    iec.IEC61850_INT8: "INT8",
    iec.IEC61850_INT16: "INT16",
    iec.IEC61850_INT32: "INT32",
    iec.IEC61850_INT64: "INT64",
    iec.IEC61850_INT8U: "INT8U",
    iec.IEC61850_INT16U: "INT16U",
    iec.IEC61850_INT32U: "INT32U",
    iec.IEC61850_FLOAT32: "FLOAT32",
    iec.IEC61850_FLOAT64: "FLOAT64",
    iec.IEC61850_ENUMERATED: "Enum",
    iec.IEC61850_CODEDENUM: "Dbpos",
    iec.IEC61850_OCTET_STRING_64: "Octet64",
    iec.IEC61850_VISIBLE_STRING_32: "VisString32",
    iec.IEC61850_VISIBLE_STRING_64: "VisString64",
    iec.IEC61850_VISIBLE_STRING_65: "VisString65",
    iec.IEC61850_VISIBLE_STRING_129: "VisString129",
    iec.IEC61850_VISIBLE_STRING_255: "VisString255",
    iec.IEC61850_UNICODE_STRING_255: "Unicode255",
    iec.IEC61850_TIMESTAMP: "Timestamp",
    iec.IEC61850_QUALITY: "Quality",
    iec.IEC61850_CHECK: "Check",
    iec.IEC61850_CONSTRUCTED: "Struct",
    iec.IEC61850_ENTRY_TIME: "EntryTime",
}
_FC = {
    value: name[len("IEC61850_FC_") :]
    for name, value in vars(iec).items()
    if name.startswith("IEC61850_FC_") and isinstance(value, int)
}
_DATA_OBJECT, _DATA_ATTRIBUTE = 2, 3  # ModelNode_getType


def create_data_object(cdc: str, name: str, parent: object, ctl_model: int = 1) -> object:
    """Create data object ``name`` of class ``cdc`` under ``parent`` (a ModelNode)."""
    if cdc == "MV":
        return iec.CDC_MV_create(name, parent, 0, False)
    if cdc == "WYE":
        return iec.CDC_WYE_create(name, parent, 0)
    if cdc == "APC":
        # built SBO-capable (the superset); the runtime ctlModel is set after start
        return iec.CDC_APC_create(name, parent, 0, _CDC_CTL[2], False)
    if cdc == "SPC":
        return iec.CDC_SPC_create(name, parent, 0, _CDC_CTL[2])
    if cdc == "ASG":
        return iec.CDC_ASG_create(name, parent, 0, False)
    if cdc == "ING":
        return iec.CDC_ING_create(name, parent, 0)
    if cdc == "ENS":
        return iec.CDC_ENS_create(name, parent, 0)
    if cdc == "INS":
        return iec.CDC_INS_create(name, parent, 0)
    if cdc == "SPS":
        return iec.CDC_SPS_create(name, parent, 0)
    if cdc == "LPL":
        return iec.CDC_LPL_create(name, parent, 0)
    if cdc == "DPL":
        return iec.CDC_DPL_create(name, parent, 0)
    raise ValueError(f"unsupported CDC {cdc!r}; supported: {', '.join(SUPPORTED_CDCS)}")


@dataclass(frozen=True, slots=True)
class NodeShape:
    """One node of a built data object: a sub data object or a data attribute."""

    name: str
    is_attribute: bool
    btype: str = ""  # SCL bType of an attribute ("Struct" when constructed)
    fc: str = ""
    dchg: bool = False
    qchg: bool = False
    children: tuple[NodeShape, ...] = ()


def shape_of(node: object) -> tuple[NodeShape, ...]:
    """The children of a libiec61850 model node, recursively."""
    out = []
    for i in range(iec.ModelNode_getChildCount(node)):
        child = iec.ModelNode_getChildWithIdx(node, i)
        name = iec.ModelNode_getName(child)
        kids = shape_of(child)
        if iec.ModelNode_getType(child) == _DATA_ATTRIBUTE:
            da = iec.toDataAttribute(child)
            trg = iec.DataAttribute_getTrgOps(da)
            out.append(
                NodeShape(
                    name,
                    True,
                    _BTYPE.get(iec.DataAttribute_getType(da), "Struct"),
                    _FC.get(iec.DataAttribute_getFC(da), ""),
                    bool(trg & iec.TRG_OPT_DATA_CHANGED),
                    bool(trg & iec.TRG_OPT_QUALITY_CHANGED),
                    kids,
                )
            )
        else:
            out.append(NodeShape(name, False, children=kids))
    return tuple(out)


def cdc_shape(cdc: str) -> tuple[NodeShape, ...]:
    """What :func:`create_data_object` builds for ``cdc`` (in a throwaway model)."""
    model = iec.IedModel_create("SHAPE")
    try:
        ld = iec.LogicalDevice_create("LD", model)
        ln = iec.LogicalNode_create("GGIO1", ld)
        do = create_data_object(cdc, "X", iec.toModelNode(ln))
        return shape_of(iec.toModelNode(do))
    finally:
        iec.IedModel_destroy(model)

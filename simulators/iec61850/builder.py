"""Build a libiec61850 server model from a parsed SCL document.

Logical nodes and data objects come from the file; each data object is created with
its common data class (:mod:`simulators.iec61850.cdc`), then the data sets and report
control blocks the file declares.  The IED gets the caller's (unique) name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyiec61850.pyiec61850 as iec

from simulators.iec61850.cdc import create_data_object
from vpp.codecs.scl import SclDocument, SclLogicalDevice, SclReportControl

_TRG = {
    "dchg": iec.TRG_OPT_DATA_CHANGED,
    "qchg": iec.TRG_OPT_QUALITY_CHANGED,
    "dupd": iec.TRG_OPT_DATA_UPDATE,
    "period": iec.TRG_OPT_INTEGRITY,
    "gi": iec.TRG_OPT_GI,
}
_OPT = {
    "seqNum": iec.RPT_OPT_SEQ_NUM,
    "timeStamp": iec.RPT_OPT_TIME_STAMP,
    "reasonCode": iec.RPT_OPT_REASON_FOR_INCLUSION,
    "dataSet": iec.RPT_OPT_DATA_SET,
    "dataRef": iec.RPT_OPT_DATA_REFERENCE,
    "bufOvfl": iec.RPT_OPT_BUFFER_OVERFLOW,
    "entryID": iec.RPT_OPT_ENTRY_ID,
    "configRef": iec.RPT_OPT_CONF_REV,
}


@dataclass
class BuiltModel:
    """A libiec61850 IedModel and handles to what the server updates and controls."""

    ied_name: str
    ld_inst: str
    handle: object
    data_objects: dict[str, object] = field(default_factory=dict)  # "LN.DO" -> DataObject
    initial: dict[str, str] = field(default_factory=dict)  # "LN.DO.DA" -> SCL Val

    @property
    def ld_name(self) -> str:
        return f"{self.ied_name}{self.ld_inst}"

    def attribute(self, path: str) -> object:
        """The DataAttribute at ``LN.DO.DA…`` (e.g. ``MMXU1.TotW.mag.f``)."""
        node = iec.IedModel_getModelNodeByObjectReference(self.handle, f"{self.ld_name}/{path}")
        if node is None:
            raise KeyError(f"{self.ld_name}/{path} is not in the model")
        return iec.toDataAttribute(node)

    def has(self, path: str) -> bool:
        ref = f"{self.ld_name}/{path}"
        return iec.IedModel_getModelNodeByObjectReference(self.handle, ref) is not None

    def destroy(self) -> None:
        if self.handle is not None:
            iec.IedModel_destroy(self.handle)
            self.handle = None


def _report_control(rc: SclReportControl, lln0: object) -> None:
    trg = 0
    for name in rc.trigger_options:
        trg |= _TRG.get(name, 0)
    opt = 0
    for name in rc.optional_fields:
        opt |= _OPT.get(name, 0)
    iec.ReportControlBlock_create(
        rc.name, lln0, rc.rpt_id, rc.buffered, rc.data_set, rc.conf_rev, trg, opt,
        rc.buf_time_ms, rc.intg_pd_ms,
    )  # fmt: skip


def _logical_device(ld_scl: SclLogicalDevice, model: object, built: BuiltModel) -> None:
    ld = iec.LogicalDevice_create(ld_scl.inst, model)
    lln0 = None
    for ln_scl in ld_scl.logical_nodes:
        ln = iec.LogicalNode_create(ln_scl.name, ld)
        if ln_scl.ln_class == "LLN0":
            lln0 = ln
        for do in ln_scl.data_objects:
            built.data_objects[f"{ln_scl.name}.{do.name}"] = create_data_object(
                do.cdc, do.name, iec.toModelNode(ln)
            )
        for path, val in ln_scl.initial.items():
            built.initial[f"{ln_scl.name}.{path}"] = val
    if lln0 is None:
        raise ValueError(f"logical device {ld_scl.inst} has no LLN0")
    for ds_scl in ld_scl.data_sets:
        ds = iec.DataSet_create(ds_scl.name, lln0)
        for member in ds_scl.members:
            iec.DataSetEntry_create(ds, member.mms_name, -1, None)
    for rc in ld_scl.report_controls:
        _report_control(rc, lln0)


def build_model(doc: SclDocument, ied_name: str) -> BuiltModel:
    """A fresh libiec61850 model of ``doc`` (its first logical device) named ``ied_name``."""
    model = iec.IedModel_create(ied_name)
    ld_scl = doc.logical_device()
    built = BuiltModel(ied_name, ld_scl.inst, model)
    try:
        _logical_device(ld_scl, model, built)
    except Exception:
        built.destroy()
        raise
    return built

"""vpp's own SunSpec model: the device state that no standard SunSpec model carries.

SunSpec's models describe inverters, storage and meters; a heat pump's thermal store
and a flexible load's job have no standard points.  Model ``VPP_STATE_MODEL_ID`` (in the
vendor range 64000..65535, not registered with the SunSpec Alliance) carries them, in
the SunSpec model definition format (the JSON of the SunSpec models repository, which
pysunspec2 reads), so every SunSpec tool can decode it given this definition:

==========  =========  ======  =========================================================
point       type       unit    meaning
==========  =========  ======  =========================================================
ThmSoC      uint16     %       heat pump: thermal state of charge of the comfort band
                               (0 % at ``TmpMin``: must heat; 100 % at ``TmpMax``)
Tmp         int16      °C      heat pump: temperature of the thermal store (tank/room)
TmpMin      int16      °C      heat pump: lower bound of the comfort band
TmpMax      int16      °C      heat pump: upper bound of the comfort band
EnSoC       uint16     %       flexible load: share of the job's energy consumed
WhRem       uint32     Wh      flexible load: energy still to consume by the deadline
TmRem       uint32     s       flexible load: seconds until the deadline
==========  =========  ======  =========================================================

A point that does not apply to the device reads "not implemented".  The description
lives here once; ``docs/device-state.md`` explains what is standard and what is not.
"""

from __future__ import annotations

from typing import Any

VPP_STATE_MODEL_ID = 64960


def _point(name: str, type_: str, label: str, desc: str, **extra: Any) -> dict[str, Any]:
    size = 2 if type_.endswith("32") else 1
    return {"name": name, "type": type_, "size": size, "label": label, "desc": desc} | extra


VPP_STATE_MODEL: dict[str, Any] = {
    "id": VPP_STATE_MODEL_ID,
    "group": {
        "name": "vpp_der_state",
        "type": "group",
        "label": "vpp DER state (vendor model, not registered)",
        "desc": "Thermal state of a heat pump and the energy state of a flexible load.",
        "points": [
            _point(
                "ID",
                "uint16",
                "Model ID",
                "Model identifier",
                mandatory="M",
                static="S",
                value=VPP_STATE_MODEL_ID,
            ),
            _point("L", "uint16", "Model Length", "Model length", mandatory="M", static="S"),
            _point(
                "ThmSoC",
                "uint16",
                "Thermal State of Charge",
                "Heat pump: fill of the comfort band, 0 at TmpMin, 100 at TmpMax.",
                units="Pct",
                sf="Pct_SF",
            ),
            _point(
                "Tmp",
                "int16",
                "Store Temperature",
                "Heat pump: temperature of its thermal store (tank or room).",
                units="C",
                sf="Tmp_SF",
            ),
            _point(
                "TmpMin",
                "int16",
                "Comfort Minimum",
                "Heat pump: lower bound of the comfort band.",
                units="C",
                sf="Tmp_SF",
            ),
            _point(
                "TmpMax",
                "int16",
                "Comfort Maximum",
                "Heat pump: upper bound of the comfort band.",
                units="C",
                sf="Tmp_SF",
            ),
            _point(
                "EnSoC",
                "uint16",
                "Job Energy Done",
                "Flexible load: share of the current job's energy already consumed.",
                units="Pct",
                sf="Pct_SF",
            ),
            _point(
                "WhRem",
                "uint32",
                "Job Energy Remaining",
                "Flexible load: energy still to consume before the deadline.",
                units="WH",
                sf="WH_SF",
            ),
            _point(
                "TmRem",
                "uint32",
                "Time To Deadline",
                "Flexible load: seconds until the current job's deadline.",
                units="Secs",
            ),
            _point("Pct_SF", "sunssf", "Percent Scale Factor", "Scale factor of percentages."),
            _point("Tmp_SF", "sunssf", "Temperature Scale Factor", "Scale factor of Tmp*."),
            _point("WH_SF", "sunssf", "Energy Scale Factor", "Scale factor of WhRem."),
        ],
    },
}

#: vpp's model definitions by id: the simulators and the gateway look here before
#: pysunspec2's bundled standard models
VENDOR_MODELS: dict[int, dict[str, Any]] = {VPP_STATE_MODEL_ID: VPP_STATE_MODEL}

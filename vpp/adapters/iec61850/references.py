"""What the driver reads and operates on one IEC 61850 device, derived from its SCL file.

Sans-I/O: :func:`device_references` turns a parsed SCL document (``vpp.codecs.scl``) plus
the configured IED name and logical device into MMS names.  The online model is checked
against these at connect time (``session``); the SCL says where to look, the device has
the last word on the shape of each value.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpp.codecs.scl import SclDocument, SclFcda, SclLogicalDevice
from vpp.domain.errors import InvalidValue

SETPOINT = ("DRCC1", "OutWSet")  # APC, W, positive = injection (7-420 Ed.1 DRCC)
RATING_MAX_OUT = ("DRAT1", "MaxWOut")  # ASG, W
RATING_MAX_IN = ("DRAT1", "MaxWIn")  # ASG, W absorbed (a positive number)

# IEC 61850 ctlModel (CtlModels enumeration, 7-3): the wire integer of each name.
CTL_MODELS = {
    "status-only": 0,
    "direct-with-normal-security": 1,
    "sbo-with-normal-security": 2,
    "direct-with-enhanced-security": 3,
    "sbo-with-enhanced-security": 4,
}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One reading field and where it lives: ``<ln>$MX$<do>`` and leaf paths inside it."""

    # Reading attribute: p_w, q_var, hz, v_v, soc, p_avail_w, energy_wh, connected, temp_c,
    # or deadline (the value is the seconds left; the reading's time is added)
    field: str
    ln: str
    do: str
    magnitude: str  # leaf path of the value inside the DO, e.g. "mag.f"
    status: str = ""  # prefix of q and t inside the DO ("" or "phsA.")
    scale: float = 1.0  # applied after units.multiplier (SoC is in percent)
    fc: str = "MX"

    @property
    def key(self) -> str:
        return f"{self.ln}.{self.do}"


# Names as the models in models/iec61850-7-420/ spell them (their desc says where the
# standard's name is uncertain).  A device offers a subset; p_w is required.
MEASUREMENTS = (
    Measurement("p_w", "MMXU1", "TotW", "mag.f"),
    Measurement("q_var", "MMXU1", "TotVAr", "mag.f"),
    Measurement("hz", "MMXU1", "Hz", "mag.f"),
    Measurement("v_v", "MMXU1", "PhV", "phsA.cVal.mag.f", "phsA."),
    Measurement("soc", "DSTO1", "SoC", "mag.f", scale=0.01),  # storage, percent
    Measurement("soc", "DEEV1", "Soc", "mag.f", scale=0.01),  # the connected car, percent
    Measurement("connected", "DESE1", "ConnSt", "stVal", fc="ST"),  # EV: 1 plugged in
    Measurement("energy_wh", "DEEV1", "EnAmnt", "mag.f"),  # EV: energy still requested
    Measurement("p_avail_w", "DPVC1", "AvlW", "mag.f"),  # PV: available before curtailment
    Measurement("temp_c", "STMP1", "Tmp", "mag.f"),  # heat pump: its thermal store, degC
    Measurement("soc", "STMP1", "ThmFill", "mag.f", scale=0.01),  # heat pump: band fill, %
    Measurement("energy_wh", "DFLX1", "WhRem", "mag.f"),  # flexible load: still to consume
    Measurement("soc", "DFLX1", "EnDone", "mag.f", scale=0.01),  # flexible load: done, %
    Measurement("deadline", "DFLX1", "TmRem", "mag.f"),  # flexible load: seconds left
)


@dataclass(frozen=True, slots=True)
class DeviceReferences:
    ied: str
    ld: str
    measurements: tuple[Measurement, ...]  # those the SCL offers; p_w always first
    data_set: str  # MMS item in the LD, e.g. "LLN0$Measurements"
    data_set_members: tuple[str, ...]  # MMS items, e.g. "MMXU1$MX$TotW" (SCL order)
    buffered_rcbs: tuple[str, ...]  # "LLN0$BR$brcbMX01", ... on the data set
    unbuffered_rcbs: tuple[str, ...]  # "LLN0$RP$urcbMX01", ...
    integrity_ms: int  # of the first RCB, 0 when none
    setpoint: str  # control object, "DRCC1$CO$OutWSet"
    setpoint_ctl_model: int  # from the SCL; the device's CF value wins online
    reversion: str | None  # "<ln>$SP$<do>RvrtTms$setVal": an ING (seconds) next to the setpoint
    rating_paths: tuple[str, str] | None  # (MaxWOut, MaxWIn) setVal items, FC SP

    @property
    def domain(self) -> str:
        """The MMS domain (logical device name): IED name + LD instance."""
        return f"{self.ied}{self.ld}"

    def member_items(self) -> tuple[str, ...]:
        """What a fallback read asks for: the data set members (same shape as reports)."""
        return self.data_set_members


def _member_item(fcda: SclFcda) -> str:
    return fcda.mms_name


def device_references(doc: SclDocument, ied: str, ld: str) -> DeviceReferences:
    """References of one device; raises :class:`InvalidValue` when the SCL lacks the
    measurement ``MMXU1.TotW`` or the setpoint ``DRCC1.OutWSet``."""
    insts = {d.inst for d in doc.logical_devices}
    if ld not in insts and ld.startswith(ied) and ld[len(ied) :] in insts:
        ld = ld[len(ied) :]  # the full LD name (IED name + inst) was given
    if ld not in insts:
        raise InvalidValue(f"SCL has no logical device {ld!r} (it has {sorted(insts)})")
    device = doc.logical_device(ld)
    present = {(ln.name, do.name): do for ln in device.logical_nodes for do in ln.data_objects}
    measurements = tuple(m for m in MEASUREMENTS if (m.ln, m.do) in present)
    if not measurements or measurements[0].field != "p_w":
        raise InvalidValue(f"SCL of {ld!r} has no MMXU1.TotW (active power)")
    if SETPOINT not in present:
        raise InvalidValue(f"SCL of {ld!r} has no {'.'.join(SETPOINT)} (active power setpoint)")
    data_set, members = _measurement_data_set(device)
    buffered = tuple(
        f"LLN0$BR${rc.name}"
        for rc in device.report_controls
        if rc.buffered and rc.data_set == data_set
    )
    unbuffered = tuple(
        f"LLN0$RP${rc.name}"
        for rc in device.report_controls
        if not rc.buffered and rc.data_set == data_set
    )
    intg = next((rc.intg_pd_ms for rc in device.report_controls if rc.data_set == data_set), 0)
    ln = device.logical_node(SETPOINT[0])
    ctl_text = ln.initial.get(f"{SETPOINT[1]}.ctlModel", "direct-with-normal-security")
    reversion = next(
        (
            f"{ln.name}$SP${do.name}$setVal"
            for do in ln.data_objects
            if do.name.endswith("RvrtTms") and do.cdc == "ING"
        ),
        None,
    )
    ratings = None
    if RATING_MAX_OUT in present and RATING_MAX_IN in present:
        ratings = (
            f"{RATING_MAX_OUT[0]}$SP${RATING_MAX_OUT[1]}$setMag$f",
            f"{RATING_MAX_IN[0]}$SP${RATING_MAX_IN[1]}$setMag$f",
        )
    return DeviceReferences(
        ied=ied,
        ld=ld,
        measurements=measurements,
        data_set=f"LLN0${data_set}" if data_set else "",
        data_set_members=members,
        buffered_rcbs=buffered,
        unbuffered_rcbs=unbuffered,
        integrity_ms=intg,
        setpoint=f"{SETPOINT[0]}$CO${SETPOINT[1]}",
        setpoint_ctl_model=CTL_MODELS.get(ctl_text, 1),
        reversion=reversion,
        rating_paths=ratings,
    )


def _measurement_data_set(device: SclLogicalDevice) -> tuple[str, tuple[str, ...]]:
    """The data set that carries ``MMXU1.TotW`` (a report on it is our telemetry).

    Without one, the members are the measurements themselves (read, never reported).
    """
    for ds in device.data_sets:
        if any(f.ln_name == "MMXU1" and f.do_name == "TotW" for f in ds.members):
            return ds.name, tuple(_member_item(f) for f in ds.members)
    present = {(ln.name, do.name) for ln in device.logical_nodes for do in ln.data_objects}
    return "", tuple(f"{m.ln}$MX${m.do}" for m in MEASUREMENTS if (m.ln, m.do) in present)

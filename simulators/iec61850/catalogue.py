"""Which logical nodes and data objects each simulated DER kind offers (IEC 61850-7-420).

This is the source of the ICD files in ``models/iec61850-7-420/`` (written by
:mod:`simulators.iec61850.make_icd`); at run time servers read those files, not this.
Where a name's provenance in the standard is uncertain, the description says so, and the
uncertainty is repeated in the file's ``desc`` attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpp.domain import DerKind

UNSURE = "Provenance uncertain: "


@dataclass(frozen=True, slots=True)
class DoSpec:
    name: str
    cdc: str
    desc: str
    enum: str = ""  # EnumType of stVal (ENS)


@dataclass(frozen=True, slots=True)
class LnSpec:
    ln_class: str
    inst: str
    desc: str
    data_objects: tuple[DoSpec, ...]

    @property
    def name(self) -> str:
        return f"{self.ln_class}{self.inst}"


LLN0 = LnSpec(
    "LLN0",
    "",
    "Logical node zero",
    (
        DoSpec("Mod", "ENS", "Mode (IEC 61850-7-4; an ENS here, Ed.2 makes it an ENC)", "Beh"),
        DoSpec("Beh", "ENS", "Behaviour (IEC 61850-7-4)", "Beh"),
        DoSpec("Health", "ENS", "Health (IEC 61850-7-4)", "Health"),
        DoSpec("NamPlt", "LPL", "Name plate"),
    ),
)
LPHD = LnSpec(
    "LPHD",
    "1",
    "Physical device information (IEC 61850-7-4)",
    (
        DoSpec("PhyNam", "DPL", "Physical device name plate"),
        DoSpec("PhyHealth", "ENS", "Physical device health", "Health"),
        DoSpec("Proxy", "SPS", "Indicates a proxy (false: the simulator is the device)"),
    ),
)
MMXU = LnSpec(
    "MMXU",
    "1",
    "Measurement at the DER's terminals (IEC 61850-7-4 MMXU)",
    (
        DoSpec("TotW", "MV", "Total active power, W; positive = injected into the grid"),
        DoSpec("TotVAr", "MV", "Total reactive power, var"),
        DoSpec("Hz", "MV", "Frequency, Hz"),
        DoSpec("PhV", "WYE", "Phase to neutral voltages, V (single-phase units fill phsA)"),
    ),
)
DRCC = LnSpec(
    "DRCC",
    "1",
    "DER controller (IEC 61850-7-420 Ed.1 DRCC)",
    (
        DoSpec(
            "OutWSet",
            "APC",
            "Active power setpoint, W, positive = injection; mxVal is the setpoint in force. "
            + UNSURE
            + "7-420 Ed.1 DRCC.OutWSet as used by OSGP's DER adapter; Ed.2 moves active "
            "power control to other nodes.",
        ),
        DoSpec(
            "DERStr",
            "SPC",
            "Start (true) / stop (false) the DER unit. "
            + UNSURE
            + "Ed.1 has DRCC.DERStr and DRCC.DERStop; here one SPC carries both.",
        ),
        DoSpec(
            "WSetEna",
            "SPC",
            "Setpoint in force (true) or autonomous default mode (false); operating OutWSet "
            "sets it true. "
            + UNSURE
            + "vpp extension mirroring SunSpec 704 WSetEna; lets a controller hand the unit "
            "back to its default mode.",
        ),
        DoSpec(
            "OutWSetRvrtTms",
            "ING",
            "Reversion time of the setpoint, s (0 = no reversion): when this many seconds "
            "pass without a new OutWSet operate, the unit returns to its default mode "
            "(as WSetEna false). "
            + UNSURE
            + "vpp extension modelled on SunSpec 704 WSetRvrtTms; the normative IEC 61850 "
            "name of such a setting is uncertain.",
        ),
    ),
)
DRAT = LnSpec(
    "DRAT",
    "1",
    "DER ratings, readable as settings (SP). "
    + UNSURE
    + "node class from 7-420 Ed.1 DER ratings; data object names are vpp's.",
    (
        DoSpec("MaxWOut", "ASG", "Rated maximum active power injected, W"),
        DoSpec("MaxWIn", "ASG", "Rated maximum active power absorbed, W (a positive number)"),
        DoSpec("WhRtg", "ASG", "Energy capacity, Wh (0 when not storage)"),
        DoSpec("MinWStbl", "ASG", "Minimum stable power when running, W (0 when none)"),
    ),
)
DGEN = LnSpec(
    "DGEN",
    "1",
    "DER unit operation (7-420 Ed.1 DGEN); loads use it too for their operating state",
    (
        DoSpec(
            "GnOpSt",
            "ENS",
            "Operational state: 1 off, 2 standby, 3 running, 4 limited. "
            + UNSURE
            + "the value set is vpp's, not the standard's.",
            "OpSt",
        ),
        DoSpec("OpTmsRs", "INS", "Operating time since reset, s"),
        DoSpec("TotWh", "MV", "Net energy injected since start, Wh. " + UNSURE + "a BCR in 7-420."),
    ),
)
DPVC = LnSpec(
    "DPVC",
    "1",
    "PV array controller (7-420 Ed.1 DPVC)",
    (
        DoSpec(
            "AvlW",
            "MV",
            "Available (uncurtailed) PV power, W. " + UNSURE + "vpp extension, not in 7-420 Ed.1.",
        ),
    ),
)
ZBAT = LnSpec(
    "ZBAT", "1", "Battery (IEC 61850-7-4 ZBAT)", (DoSpec("Vol", "MV", "Battery DC voltage, V"),)
)
DSTO = LnSpec(
    "DSTO",
    "1",
    "Energy storage. " + UNSURE + "7-420 Ed.2 storage node; data object names are vpp's.",
    (
        DoSpec("SoC", "MV", "State of charge, percent 0..100"),
        DoSpec("WhAvl", "MV", "Stored energy above the minimum state of charge, Wh"),
    ),
)
DEEV = LnSpec(
    "DEEV",
    "1",
    "Electric vehicle (IEC 61850-90-8 DEEV). " + UNSURE + "data object names approximate 90-8.",
    (
        DoSpec("Soc", "MV", "State of charge of the connected car, percent (0 when absent)"),
        DoSpec("EnAmnt", "MV", "Energy the car still requests, Wh"),
    ),
)
DESE = LnSpec(
    "DESE",
    "1",
    "EV supply equipment (IEC 61850-90-8 DESE)",
    (
        DoSpec(
            "ConnSt",
            "INS",
            "Vehicle connection: 1 connected, 0 no vehicle. " + UNSURE + "90-8 uses an enum.",
        ),
    ),
)
STMP = LnSpec(
    "STMP",
    "1",
    "Heat pump buffer tank temperature supervision (IEC 61850-7-4 STMP)",
    (
        DoSpec("Tmp", "MV", "Tank temperature, degC"),
        DoSpec("ThmFill", "MV", "Fill of the comfort band, percent. " + UNSURE + "vpp extension."),
    ),
)

DFLX = LnSpec(
    "DFLX",
    "1",
    "Flexible load: the energy job it must run within its window. "
    + UNSURE
    + "vpp extension; 7-420 has no node for a shiftable load's energy state.",
    (
        DoSpec("WhRem", "MV", "Energy still to consume before the deadline, Wh"),
        DoSpec("EnDone", "MV", "Share of the job's energy already consumed, percent"),
        DoSpec("TmRem", "MV", "Seconds until the job's deadline (the window's end)"),
    ),
)

_COMMON = (LLN0, LPHD, MMXU, DRCC, DRAT, DGEN)
NODES: dict[DerKind, tuple[LnSpec, ...]] = {
    DerKind.PV: (*_COMMON, DPVC),
    DerKind.BATTERY: (*_COMMON, ZBAT, DSTO),
    DerKind.EV_CHARGER: (*_COMMON, DEEV, DESE),
    DerKind.CHP: _COMMON,
    DerKind.HEAT_PUMP: (*_COMMON, STMP),
    DerKind.FLEXIBLE_LOAD: (*_COMMON, DFLX),
}

ENUMS: dict[str, tuple[str, ...]] = {
    "Beh": ("on", "blocked", "test", "test/blocked", "off"),
    "Health": ("Ok", "Warning", "Alarm"),
    "OpSt": ("off", "standby", "running", "limited"),
    "CtlModels": (
        "status-only",
        "direct-with-normal-security",
        "sbo-with-normal-security",
        "direct-with-enhanced-security",
        "sbo-with-enhanced-security",
    ),
    "OrCat": (
        "not-supported",
        "bay-control",
        "station-control",
        "remote-control",
        "automatic-bay",
        "automatic-station",
        "automatic-remote",
        "maintenance",
        "process",
    ),
}
ENUM_FIRST_ORD = {"CtlModels": 0, "OrCat": 0}  # others start at 1

# members of the measurement data set: (LN name, DO name, FC)
MEASUREMENT_DO_FC = {"MV": "MX", "WYE": "MX", "APC": "MX", "ENS": "ST", "INS": "ST", "SPS": "ST"}
MEASURED_NODES = ("MMXU", "DGEN", "DPVC", "DSTO", "DEEV", "DESE", "STMP", "DFLX", "DRCC")

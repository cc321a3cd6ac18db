"""Write a simulated DER's state into its IEC 61850 data model.

Every measured value is written with its quality and the source timestamp of the
reading.  ``DRCC1.OutWSet.mxVal`` is the setpoint in force, or the measured power when
the unit runs autonomously.  ``DGEN1.GnOpSt``: 1 off, 2 standby (0 W), 3 running,
4 limited (a setpoint or limit is in force).  Units are single-phase: ``PhV.phsA`` carries
the voltage, the other phases have quality invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import pyiec61850.pyiec61850 as iec

from simulators.physics import DerModel
from vpp.domain import DerKind, Quality, Reading

if TYPE_CHECKING:
    from simulators.iec61850.server import IecServer

OP_OFF, OP_STANDBY, OP_RUNNING, OP_LIMITED = 1, 2, 3, 4
UNUSED_PHASES = ("phsB", "phsC", "neut", "net", "res")


class Publisher:
    def __init__(self, server: IecServer) -> None:
        self.server = server
        self._attrs: dict[str, object] = {}
        self._last: datetime | None = None
        self.run_s = 0.0
        self.net_wh = 0.0

    def _a(self, path: str) -> object | None:
        if path not in self._attrs:
            built = self.server.built
            self._attrs[path] = built.attribute(path) if built.has(path) else None
        return self._attrs[path]

    def _float(self, path: str, value: float) -> None:
        da = self._a(path)
        if da is not None:
            iec.IedServer_updateFloatAttributeValue(self.server.server, da, float(value))

    def _int(self, path: str, value: int) -> None:
        da = self._a(path)
        if da is not None:
            iec.IedServer_updateInt32AttributeValue(self.server.server, da, int(value))

    def _bool(self, path: str, value: bool) -> None:
        da = self._a(path)
        if da is not None:
            iec.IedServer_updateBooleanAttributeValue(self.server.server, da, bool(value))

    def _text(self, path: str, value: str) -> None:
        da = self._a(path)
        if da is not None:
            iec.IedServer_updateVisibleStringAttributeValue(self.server.server, da, value)

    def _stamp(self, do_path: str, quality: int, ms: int) -> None:
        q, t = self._a(f"{do_path}.q"), self._a(f"{do_path}.t")
        srv = self.server.server
        if q is not None:
            iec.IedServer_updateQuality(srv, q, quality)
        if t is not None:
            iec.IedServer_updateUTCTimeAttributeValue(srv, t, ms)

    def write_static(self) -> None:
        """Name plates, modes and ratings: written once before the server starts."""
        m = self.server.model
        r = m.ratings
        for path in ("LLN0.Mod.stVal", "LLN0.Beh.stVal", "LLN0.Health.stVal"):
            self._int(path, 1)
        self._int("LPHD1.PhyHealth.stVal", 1)
        self._bool("LPHD1.Proxy.stVal", False)
        self._text("LLN0.NamPlt.vendor", "vpp")
        self._text("LLN0.NamPlt.swRev", "0.1.0")
        self._text("LPHD1.PhyNam.vendor", f"vpp simulated {m.kind.value} {m.der_id}"[:255])
        self._float("DRAT1.MaxWOut.setMag.f", r.p_max_w)
        self._float("DRAT1.MaxWIn.setMag.f", -r.p_min_w)
        self._float("DRAT1.WhRtg.setMag.f", r.energy_wh or 0.0)
        self._float("DRAT1.MinWStbl.setMag.f", r.min_stable_w)
        for phase in UNUSED_PHASES:  # single-phase units: the other phases are not measured
            da = self._a(f"MMXU1.PhV.{phase}.q")
            if da is not None:
                iec.IedServer_updateQuality(self.server.server, da, iec.QUALITY_VALIDITY_INVALID)

    def write(self, now: datetime, qualities: Mapping[Quality, int]) -> None:
        m = self.server.model
        rd = m.reading(now)
        ms = int(now.timestamp() * 1000)
        q = qualities[rd.quality]
        if self._last is not None:
            dt = (now - self._last).total_seconds()
            self.net_wh += m.p_w * dt / 3600.0
            if m.enabled and m.p_w != 0.0:
                self.run_s += dt
        self._last = now
        srv = self.server.server
        iec.IedServer_lockDataModel(srv)
        try:
            self._measurements(m, rd, q, ms)
        finally:
            iec.IedServer_unlockDataModel(srv)

    def _measurements(self, m: DerModel, rd: Reading, q: int, ms: int) -> None:
        mv = (
            ("MMXU1.TotW", rd.p_w),
            ("MMXU1.TotVAr", rd.q_var or 0.0),
            ("MMXU1.Hz", rd.hz or 50.0),
            ("DGEN1.TotWh", self.net_wh),
        )
        for path, value in mv:
            self._float(f"{path}.mag.f", value)
            self._stamp(path, q, ms)
        self._float("MMXU1.PhV.phsA.cVal.mag.f", rd.v_v or 230.0)
        self._stamp("MMXU1.PhV.phsA", q, ms)
        in_force = m.setpoint_w if m.setpoint_w is not None else rd.p_w
        self._float("DRCC1.OutWSet.mxVal.f", in_force)
        self._stamp("DRCC1.OutWSet", q, ms)
        self._bool("DRCC1.DERStr.stVal", m.enabled)
        self._stamp("DRCC1.DERStr", q, ms)
        self._bool("DRCC1.WSetEna.stVal", m.setpoint_w is not None)
        self._stamp("DRCC1.WSetEna", q, ms)
        if not m.enabled:
            op = OP_OFF
        elif m.p_w == 0.0:
            op = OP_STANDBY
        else:
            op = OP_LIMITED if (m.setpoint_w is not None or m.limit_w is not None) else OP_RUNNING
        self._int("DGEN1.GnOpSt.stVal", op)
        self._stamp("DGEN1.GnOpSt", q, ms)
        self._int("DGEN1.OpTmsRs.stVal", int(self.run_s))
        self._stamp("DGEN1.OpTmsRs", q, ms)
        for path, x in self._kind_values(m, rd):
            # a value the physics does not have (no job yet) is marked invalid, not 0
            self._float(f"{path}.mag.f", 0.0 if x is None else x)
            self._stamp(path, iec.QUALITY_VALIDITY_INVALID if x is None else q, ms)
        if m.kind is DerKind.EV_CHARGER:
            self._int("DESE1.ConnSt.stVal", 1 if rd.connected else 0)
            self._stamp("DESE1.ConnSt", q, ms)

    @staticmethod
    def _kind_values(m: DerModel, rd: Reading) -> list[tuple[str, float | None]]:
        soc = rd.soc
        if m.kind is DerKind.PV:
            return [("DPVC1.AvlW", rd.p_avail_w or 0.0)]
        if m.kind is DerKind.BATTERY and soc is not None:
            r = m.ratings
            return [
                ("ZBAT1.Vol", 44.0 + 10.0 * soc),
                ("DSTO1.SoC", soc * 100.0),
                ("DSTO1.WhAvl", max(0.0, soc - r.soc_min) * (r.energy_wh or 0.0)),
            ]
        if m.kind is DerKind.EV_CHARGER:
            return [("DEEV1.Soc", (soc or 0.0) * 100.0), ("DEEV1.EnAmnt", rd.energy_wh or 0.0)]
        if m.kind is DerKind.HEAT_PUMP:
            return [("STMP1.Tmp", rd.temp_c or 0.0), ("STMP1.ThmFill", (soc or 0.0) * 100.0)]
        if m.kind is DerKind.FLEXIBLE_LOAD:
            left = None if rd.deadline is None else (rd.deadline - rd.ts).total_seconds()
            return [
                ("DFLX1.WhRem", rd.energy_wh),
                ("DFLX1.EnDone", None if soc is None else soc * 100.0),
                ("DFLX1.TmRem", None if left is None else max(0.0, left)),
            ]
        return []

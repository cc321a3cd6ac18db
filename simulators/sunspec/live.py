"""Live point values of a SunSpec device, computed from its physics at read time.

701 carries the measurement (``W`` positive = injection, negative = absorption, as the
model defines it), 713 the state of charge; an EV charger without a car reports ``SoC``
and ``WHAvail`` as not implemented (0xFFFF, a uint16's) and ``InvSt`` STANDBY.  122
``WAval`` is a PV's available power (what it would inject uncurtailed).  64960 (vpp's
model) is a heat pump's thermal state or a flexible load's job; a value the physics does
not have reads not implemented.  715 ``DERHb`` counts physics steps.  Remaining reversion
time appears in ``*RvrtRem``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from simulators.sunspec.image import raw
from simulators.sunspec.points import PointDef
from vpp.codecs.sunspec import not_implemented_value
from vpp.codecs.sunspec_vpp import VPP_STATE_MODEL_ID
from vpp.domain import DerKind, Reading

if TYPE_CHECKING:
    from simulators.sunspec.device import SunSpecDevice

ST_OFF, ST_ON = 0, 1
INV_OFF, INV_RUNNING, INV_THROTTLED, INV_STANDBY = 0, 3, 4, 7


ALL_LIVE = (701, 704, 713, 715, 122, VPP_STATE_MODEL_ID)


def live_values(
    dev: SunSpecDevice, now: datetime, models: Collection[int] = ALL_LIVE
) -> Iterator[tuple[PointDef, int]]:
    """The live points of ``models`` (only those are computed: a read of 704 does not
    sample the meter)."""
    m, pt = dev.model, dev.image.point
    if 704 in models:
        yield pt(704, "WSetRvrtRem"), dev.wset_timer.remaining_s(now)
        yield pt(704, "WMaxLimPctRvrtRem"), dev.wmaxlim_timer.remaining_s(now)
    if 715 in models:
        yield pt(715, "DERHb"), dev.counters.heartbeat
    storage = 713 in models and m.kind.has_storage
    points = dev.image.points
    avail = 122 in models and "122.WAval" in points
    state = VPP_STATE_MODEL_ID in models and f"{VPP_STATE_MODEL_ID}.Tmp" in points
    if 701 not in models and not (storage or avail or state):
        return
    rd = m.reading(now)
    if 701 in models:
        yield from _measurements(dev, rd)
    if avail:
        yield _value(pt(122, "WAval"), rd.p_avail_w, dev.sf.w)
    if state:
        yield from _state(dev, rd)
    if storage:
        r, sf = m.ratings, dev.sf
        if rd.soc is None:
            for name in ("SoC", "WHAvail"):
                p = pt(713, name)
                yield p, not_implemented_value(p.type)
        else:
            stored = max(0.0, rd.soc - r.soc_min) * (r.energy_wh or 0.0)
            yield pt(713, "SoC"), raw(rd.soc * 100.0, sf.pct)
            yield pt(713, "WHAvail"), raw(stored, sf.wh)


def _measurements(dev: SunSpecDevice, rd: Reading) -> Iterator[tuple[PointDef, int]]:
    m, sf, pt = dev.model, dev.sf, dev.image.point
    w = raw(rd.p_w, sf.w)
    v = raw(rd.v_v or 230.0, sf.v)
    throttled = m.limit_w is not None or m.setpoint_w is not None
    if not m.enabled:
        inv_st = INV_OFF
    elif rd.p_w == 0.0:
        inv_st = INV_STANDBY
    else:
        inv_st = INV_THROTTLED if throttled else INV_RUNNING
    yield pt(701, "St"), ST_ON if m.enabled else ST_OFF
    yield pt(701, "InvSt"), inv_st
    yield pt(701, "ConnSt"), 1
    yield pt(701, "Alrm"), 0
    yield pt(701, "DERMode"), 1  # GRID_FOLLOWING
    yield pt(701, "W"), w
    yield pt(701, "VA"), abs(w)
    yield pt(701, "Var"), raw(rd.q_var or 0.0, sf.w)
    yield pt(701, "A"), raw(abs(rd.p_w) / (rd.v_v or 230.0), sf.a)
    yield pt(701, "LNV"), v
    yield pt(701, "Hz"), raw(rd.hz or 50.0, sf.hz)
    yield pt(701, "TotWhInj"), int(dev.counters.wh_injected)
    yield pt(701, "TotWhAbs"), int(dev.counters.wh_absorbed)
    yield pt(701, "WL1"), w
    yield pt(701, "VL1"), v
    yield pt(701, "TotWh_SF"), 0
    yield pt(701, "Hz_SF"), sf.hz
    yield pt(701, "A_SF"), sf.a


def _value(p: PointDef, value: float | None, sf: int) -> tuple[PointDef, int]:
    """The raw register value of ``value`` at ``sf``; not implemented when ``None``."""
    return p, not_implemented_value(p.type) if value is None else raw(value, sf)


def _state(dev: SunSpecDevice, rd: Reading) -> Iterator[tuple[PointDef, int]]:
    """64960: the heat pump's thermal state, or the flexible load's job."""
    m, sf = dev.model, dev.sf
    mid = VPP_STATE_MODEL_ID
    pt = dev.image.point
    thermal = m.kind is DerKind.HEAT_PUMP
    pct = None if rd.soc is None else rd.soc * 100.0
    yield _value(pt(mid, "ThmSoC"), pct if thermal else None, sf.pct)
    yield _value(pt(mid, "Tmp"), rd.temp_c if thermal else None, sf.tmp)
    yield _value(pt(mid, "EnSoC"), None if thermal else pct, sf.pct)
    yield _value(pt(mid, "WhRem"), None if thermal else rd.energy_wh, sf.wh_rem)
    left = None
    if not thermal and rd.deadline is not None:
        left = max(0.0, (rd.deadline - rd.ts).total_seconds())
    yield _value(pt(mid, "TmRem"), left, 0)

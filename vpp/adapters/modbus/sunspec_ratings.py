"""DER ratings read from a device's SunSpec nameplate (702, 713), when the gateway's
configuration says ``ratings: device``.

Sign convention of DESIGN.md: ``p_min_w`` is the largest consumption (negative),
``p_max_w`` the largest injection.  Which 702 points apply depends on the DER kind:
a battery charges at ``WChaRteMaxRtg`` and discharges at ``WDisChaRteMaxRtg``; a load
(EV charger, heat pump, flexible load) only consumes, a PV or CHP only generates.
"""

from __future__ import annotations

from vpp.codecs.sunspec import ModelBlock, SunSpecDecodeError
from vpp.domain.der import DerKind, DerRatings, check_ratings_for_kind
from vpp.domain.errors import InvalidValue


def ratings_from_nameplate(kind: DerKind, m702: ModelBlock, m713: ModelBlock | None) -> DerRatings:
    w_max = m702.value("WMaxRtg")
    if w_max is None or w_max <= 0:
        raise SunSpecDecodeError("702 WMaxRtg is missing or not positive")
    charge = m702.value("WChaRteMaxRtg") or w_max
    discharge = m702.value("WDisChaRteMaxRtg") or w_max
    q_max = max(m702.value("VarMaxInjRtg") or 0.0, m702.value("VarMaxAbsRtg") or 0.0)
    energy = m713.value("WHRtg") if m713 is not None else None
    if kind is DerKind.BATTERY:
        p_min, p_max = -charge, discharge
    elif kind in (DerKind.EV_CHARGER, DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD):
        p_min, p_max = -charge, 0.0
    else:  # PV, CHP
        p_min, p_max = 0.0, w_max
    try:
        ratings = DerRatings(
            p_min_w=p_min,
            p_max_w=p_max,
            energy_wh=energy if kind.has_storage and energy else None,
            q_max_var=q_max,
        )
        check_ratings_for_kind(kind, ratings)
    except InvalidValue as exc:
        raise SunSpecDecodeError(f"nameplate does not fit a {kind}: {exc}") from exc
    return ratings

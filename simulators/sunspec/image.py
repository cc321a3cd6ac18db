"""The register image of a simulated DER: which models, their static values, SFs.

Models: 1 (common), 701 (AC measurements), 702 (capacity), 704 (controls), 713 (storage
capacity; battery and EV charger only), 122 (measurements and status; PV only, for
``WAval``, the power available before curtailment), vpp's own model 64960 (heat pump and
flexible load: thermal and energy state, :mod:`vpp.codecs.sunspec_vpp`) and 715 (DER
control: heartbeat, start/stop).

Ratings in 702 (all in W through ``W_SF``): ``WMaxRtg`` = the largest magnitude of
``p_max_w`` / ``p_min_w``; ``WChaRteMaxRtg`` = ``-p_min_w`` for kinds that consume;
``WDisChaRteMaxRtg`` = ``p_max_w`` for a battery; ``VarMaxInjRtg`` / ``VarMaxAbsRtg`` =
``q_max_var``.  713 ``WHRtg`` is ``energy_wh`` (an EV charger: the car's battery).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.physics import DerModel, HeatPumpModel
from simulators.sunspec.points import InitialValue, ModelImage, build_image, scale_factor_for
from vpp.codecs.sunspec_vpp import VPP_STATE_MODEL_ID
from vpp.domain import DerKind, DerRatings

WRITABLE: dict[int, frozenset[str]] = {
    702: frozenset({"WMax"}),
    704: frozenset(
        {
            "WMaxLimPctEna",
            "WMaxLimPct",
            "WMaxLimPctRvrt",
            "WMaxLimPctEnaRvrt",
            "WMaxLimPctRvrtTms",
            "WSetEna",
            "WSetMod",
            "WSet",
            "WSetRvrt",
            "WSetPct",
            "WSetPctRvrt",
            "WSetEnaRvrt",
            "WSetRvrtTms",
        }
    ),
    715: frozenset({"ControllerHb", "AlarmReset", "OpCtl"}),
}

NOMINAL_V = 230.0


@dataclass(frozen=True, slots=True)
class ScaleFactors:
    w: int  # W, VA, var (701, 702)
    a: int
    wh: int  # 713 energy
    w_max_rtg: float  # WMaxRtg in W
    v: int = -1
    hz: int = -2
    pct: int = -1  # SoC, WMaxLimPct, WSetPct, 64960 ThmSoC / EnSoC
    wset: int = 0
    tmp: int = -1  # 64960 Tmp*, 0.1 degC
    wh_rem: int = 0  # 64960 WhRem (a uint32 of Wh)


def scale_factors(r: DerRatings) -> ScaleFactors:
    w_max = max(abs(r.p_max_w), abs(r.p_min_w), r.q_max_var, 1.0)
    return ScaleFactors(
        w=scale_factor_for(w_max, "int16"),
        a=scale_factor_for(w_max / NOMINAL_V, "int16"),
        wh=scale_factor_for(r.energy_wh or 1.0, "uint16"),
        w_max_rtg=max(abs(r.p_max_w), abs(r.p_min_w)),
    )


def raw(value: float, sf: int) -> int:
    return round(value / 10.0**sf)


def _common(model: DerModel, unit_id: int) -> dict[str, InitialValue]:
    return {
        "Mn": "vpp",
        "Md": f"vpp-sim-{model.kind.value}",
        "Opt": "simulated",
        "Vr": "0.1.0",
        "SN": model.der_id[:32],
        "DA": unit_id,
    }


def _capacity(model: DerModel, sf: ScaleFactors) -> dict[str, InitialValue]:
    """702: the nameplate ratings and the adjustable maxima (``WMax``)."""
    r, kind = model.ratings, model.kind
    w_max_raw = raw(sf.w_max_rtg, sf.w)
    capacity: dict[str, InitialValue] = {
        "WMaxRtg": w_max_raw,
        "VAMaxRtg": w_max_raw,
        "VarMaxInjRtg": raw(r.q_max_var, sf.w),
        "VarMaxAbsRtg": raw(r.q_max_var, sf.w),
        "VNomRtg": raw(NOMINAL_V, sf.v),
        "WMax": w_max_raw,
        "VAMax": w_max_raw,
        "VNom": raw(NOMINAL_V, sf.v),
        "W_SF": sf.w,
        "VA_SF": sf.w,
        "Var_SF": sf.w,
        "V_SF": sf.v,
        "A_SF": sf.a,
    }
    if kind.consumes:
        capacity["WChaRteMaxRtg"] = raw(-r.p_min_w, sf.w)
    if kind is DerKind.BATTERY:
        capacity["WDisChaRteMaxRtg"] = raw(r.p_max_w, sf.w)
    return capacity


def _controls(sf: ScaleFactors) -> dict[str, InitialValue]:
    """704: every control disabled, limits at 100 %, no reversion timers."""
    return {
        "WMaxLimPctEna": 0,
        "WMaxLimPct": 1000,
        "WMaxLimPctRvrt": 1000,
        "WMaxLimPctEnaRvrt": 0,
        "WMaxLimPctRvrtTms": 0,
        "WSetEna": 0,
        "WSetMod": 1,
        "WSet": 0,
        "WSetRvrt": 0,
        "WSetPct": 0,
        "WSetPctRvrt": 0,
        "WSetEnaRvrt": 0,
        "WSetRvrtTms": 0,
        "WMaxLimPct_SF": sf.pct,
        "WSet_SF": sf.wset,
        "WSetPct_SF": sf.pct,
    }


def _state(model: DerModel, sf: ScaleFactors) -> dict[str, InitialValue]:
    """64960: scale factors, and a heat pump's comfort band (its settings)."""
    state: dict[str, InitialValue] = {"Pct_SF": sf.pct, "Tmp_SF": sf.tmp, "WH_SF": sf.wh_rem}
    if isinstance(model, HeatPumpModel):
        state["TmpMin"] = raw(model.t_min_c, sf.tmp)
        state["TmpMax"] = raw(model.t_max_c, sf.tmp)
    return state


def _models(
    model: DerModel, sf: ScaleFactors, unit_id: int
) -> list[tuple[int, dict[str, InitialValue]]]:
    models: list[tuple[int, dict[str, InitialValue]]] = [
        (1, _common(model, unit_id)),
        (701, {"ACType": 0, "W_SF": sf.w, "VA_SF": sf.w, "Var_SF": sf.w, "V_SF": sf.v}),
        (702, _capacity(model, sf)),
        (704, _controls(sf)),
    ]
    if model.kind.has_storage:
        energy = raw(model.ratings.energy_wh or 0.0, sf.wh)
        storage: dict[str, InitialValue] = {"WHRtg": energy, "SoH": 1000, "Sta": 0}
        models.append((713, storage | {"WH_SF": sf.wh, "Pct_SF": sf.pct}))
    if model.kind is DerKind.PV:
        # PVConn: connected, available, operating; no storage; connected at the ECP
        models.append((122, {"PVConn": 0b111, "StorConn": 0, "ECPConn": 1, "WAval_SF": sf.w}))
    if model.kind in (DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD):
        models.append((VPP_STATE_MODEL_ID, _state(model, sf)))
    models.append(
        (715, {"LocRemCtl": 0, "DERHb": 0, "ControllerHb": 0, "AlarmReset": 0, "OpCtl": 1})
    )
    return models


def build_device_image(model: DerModel, sf: ScaleFactors, unit_id: int = 1) -> ModelImage:
    return build_image(_models(model, sf, unit_id), WRITABLE)

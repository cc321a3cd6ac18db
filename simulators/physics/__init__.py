"""DER physics: pure, deterministic for a given seed, stepped with a time delta.

The contract (shared with :mod:`vpp.research`, which runs the same physics in-process)::

    from simulators.physics import make_model, example_ratings

    model = make_model(kind, der_id, ratings, params=None, seed=0)  # -> DerModel
    model.der_id, model.kind, model.ratings    # as given (kind a vpp.domain.DerKind)
    model.setpoint_w                           # float | None; None = autonomous default mode
    model.set_setpoint(p_w)                    # W, positive = injection; None = default mode
    model.set_enabled(on)                      # start / stop (stopped = 0 W)
    model.set_limit_w(p_w)                     # cap on injection (curtailment); None = none
    model.step(now, dt_s)                      # advance dt_s seconds ending at now (aware UTC)
    model.reading(now)                         # vpp.domain.Reading: noise, quality, soc, ...
    model.p_w                                  # true power now (W), no noise

- Sign convention of DESIGN.md: positive = injected into the grid; a charging battery,
  an EV charger, a heat pump and a flexible load are negative.
- A model follows its setpoint only as far as its physics allows (state of charge,
  irradiance, an absent car, minimum stable power, ramp, deadlines), through a
  first-order response lag (``params["response_s"]``), and reports what it actually does.
- No I/O, no clock reads: time is passed in.  Randomness comes from ``random.Random``
  seeded with ``(seed, der_id)``; the measurement noise has its own stream, so how often
  a model is read does not change its trajectory.
- The reading carries ``soc`` (battery; EV car while plugged in; heat pump: thermal fill of
  its comfort band), ``connected`` (EV), ``p_avail_w`` (PV), ``energy_wh`` (battery: stored;
  EV and flexible load: energy still wanted).  Quality is ``questionable`` before the
  first step, ``good`` after.

Each kind's module documents its physics and its ``params``.
"""

from __future__ import annotations

from typing import Any

from simulators.physics.base import DerModel
from simulators.physics.battery import BatteryModel
from simulators.physics.chp import ChpModel
from simulators.physics.ev import EvChargerModel, EvSession
from simulators.physics.flexible_load import FlexibleLoadModel
from simulators.physics.heat_pump import HeatPumpModel
from simulators.physics.pv import PvModel
from vpp.domain import DerKind, DerRatings
from vpp.domain.der import check_ratings_for_kind

MODEL_CLASSES: dict[DerKind, type[DerModel]] = {
    DerKind.PV: PvModel,
    DerKind.BATTERY: BatteryModel,
    DerKind.EV_CHARGER: EvChargerModel,
    DerKind.CHP: ChpModel,
    DerKind.HEAT_PUMP: HeatPumpModel,
    DerKind.FLEXIBLE_LOAD: FlexibleLoadModel,
}

_EXAMPLE_RATINGS: dict[DerKind, DerRatings] = {
    DerKind.PV: DerRatings(p_min_w=0.0, p_max_w=10_000.0, q_max_var=4_400.0),
    DerKind.BATTERY: DerRatings(
        p_min_w=-5_000.0,
        p_max_w=5_000.0,
        energy_wh=10_000.0,
        eff_charge=0.95,
        eff_discharge=0.95,
        soc_min=0.05,
        soc_max=0.95,
        q_max_var=2_000.0,
    ),
    DerKind.EV_CHARGER: DerRatings(
        p_min_w=-11_000.0, p_max_w=0.0, energy_wh=60_000.0, eff_charge=0.92
    ),
    DerKind.CHP: DerRatings(
        p_min_w=0.0, p_max_w=50_000.0, min_stable_w=25_000.0, ramp_w_per_s=500.0, min_off_s=300.0
    ),
    DerKind.HEAT_PUMP: DerRatings(p_min_w=-3_000.0, p_max_w=0.0, min_stable_w=900.0),
    DerKind.FLEXIBLE_LOAD: DerRatings(p_min_w=-2_000.0, p_max_w=0.0),
}


def example_ratings(kind: DerKind | str) -> DerRatings:
    """Sensible nameplate ratings for a residential / small commercial unit of ``kind``."""
    return _EXAMPLE_RATINGS[DerKind(kind)]


def make_model(
    kind: DerKind | str,
    der_id: str,
    ratings: DerRatings,
    *,
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> DerModel:
    """Build the physics of one DER; ratings are checked against the kind."""
    k = DerKind(kind)
    check_ratings_for_kind(k, ratings)
    return MODEL_CLASSES[k](der_id, ratings, params=params, seed=seed)


__all__ = [
    "MODEL_CLASSES",
    "BatteryModel",
    "ChpModel",
    "DerModel",
    "EvChargerModel",
    "EvSession",
    "FlexibleLoadModel",
    "HeatPumpModel",
    "PvModel",
    "example_ratings",
    "make_model",
]

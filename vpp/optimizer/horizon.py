"""Horizon dispatch problems: the fleet over ``T`` steps, as arrays grouped by physics.

Every device family is a frozen dataclass of numpy arrays (one row per DER, one column
per step), so a fleet of 10,000 batteries is a handful of arrays, not 10,000 objects:

- :class:`StorageFleet` — anything with an energy state: batteries (charge and discharge,
  efficiencies), EV chargers (charge only while the car is plugged in, energy wanted by
  departure as a lower bound on stored energy) and flexible loads (energy to consume within
  a window).  Ramp limits per device; a ramp that cannot bind in one step is dropped.
- :class:`CurtailableFleet` — PV: anything between 0 and the available power.
- :class:`ChpFleet` — on/off units with a minimum stable power and start costs (MILP).

The plant target is met with a deviation penalty (``deviation_cost`` currency per Wh of
mismatch) or, with ``deviation_cost=None``, as a hard equality.  ``price`` is what the plant
earns per Wh injected.  Costs are currency per Wh; powers W; energies Wh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StorageFleet:
    """``N`` energy-storing devices over ``T`` steps; ``energy_*[:, t]`` bound the energy at
    the *end* of step ``t``; ``charge_max_w``/``discharge_max_w`` are magnitudes (>= 0)."""

    der_ids: tuple[str, ...]
    charge_max_w: FloatArray  # (N, T)
    discharge_max_w: FloatArray  # (N, T)
    energy0_wh: FloatArray  # (N,)
    energy_min_wh: FloatArray  # (N, T)
    energy_max_wh: FloatArray  # (N, T)
    eff_charge: FloatArray  # (N,)
    eff_discharge: FloatArray  # (N,)
    wear_cost: FloatArray  # (N,) currency per Wh charged or discharged
    ramp_w: FloatArray  # (N,) largest change of power between steps; inf = none
    capacity_wh: FloatArray  # (N,) for state of charge

    @property
    def size(self) -> int:
        return len(self.der_ids)

    def ramp_can_bind(self) -> bool:
        """Whether some device's ramp limit is tighter than its power range."""
        span = self.charge_max_w.max(axis=1, initial=0.0) + self.discharge_max_w.max(
            axis=1, initial=0.0
        )
        return bool(np.any(self.ramp_w < span))


@dataclass(frozen=True, slots=True)
class CurtailableFleet:
    der_ids: tuple[str, ...]
    p_avail_w: FloatArray  # (N, T) >= 0
    cost: FloatArray  # (N,) currency per Wh produced

    @property
    def size(self) -> int:
        return len(self.der_ids)


@dataclass(frozen=True, slots=True)
class ChpFleet:
    der_ids: tuple[str, ...]
    p_max_w: FloatArray  # (N,)
    min_stable_w: FloatArray  # (N,)
    cost: FloatArray  # (N,) fuel, currency per Wh produced
    start_cost: FloatArray  # (N,) currency per start
    on0: NDArray[np.bool_]  # (N,) running before the first step

    @property
    def size(self) -> int:
        return len(self.der_ids)


@dataclass(frozen=True, slots=True)
class HorizonProblem:
    start: datetime
    step: timedelta
    target_w: FloatArray  # (T,)
    price: FloatArray  # (T,) currency per Wh injected by the plant
    deviation_cost: float | None = 1.0  # currency per Wh off target; None = hard target
    storage: StorageFleet | None = None
    pv: CurtailableFleet | None = None
    chp: ChpFleet | None = None
    mip_rel_gap: float = 1e-3
    notes: tuple[str, ...] = field(default=())

    @property
    def steps(self) -> int:
        return int(self.target_w.shape[0])

    @property
    def dt_h(self) -> float:
        return self.step.total_seconds() / 3600.0

    @property
    def der_ids(self) -> tuple[str, ...]:
        ids: tuple[str, ...] = ()
        for fleet in (self.storage, self.pv, self.chp):
            if fleet is not None:
                ids += fleet.der_ids
        return ids

    def step_starts(self) -> list[datetime]:
        return [self.start + k * self.step for k in range(self.steps)]

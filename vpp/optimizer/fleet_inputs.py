"""Inputs of the fleet horizon builder that readings do not carry: forecasts, EV sessions,
flexible-load deadlines (see :mod:`vpp.optimizer.fleet_problem`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

#: Heat-pump comfort band without a rating: this many hours of full power (electrical).
DEFAULT_BAND_H = 0.5


@dataclass(frozen=True, slots=True)
class HorizonForecast:
    """What is not controllable, per step (W, generator sign, ``steps`` values each).

    ``pv_avail_w``: available PV power per PV member; ``load_w``: baseline consumption
    (<= 0) per heat pump / flexible load; ``fixed_w``: the plant's uncontrolled remainder
    (e.g. a site's base load behind the same meter).  Missing entries use the defaults
    described in :mod:`vpp.optimizer.fleet_problem`."""

    pv_avail_w: Mapping[str, Sequence[float]] = field(default_factory=dict)
    load_w: Mapping[str, Sequence[float]] = field(default_factory=dict)
    fixed_w: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class EvSession:
    """A plugged-in car's departure and the energy it wants in its battery by then (from
    now on, Wh in the car).  Not in the data model's readings: the caller's knowledge."""

    departure: datetime
    energy_needed_wh: float


@dataclass(frozen=True, slots=True)
class LoadWindow:
    """A flexible load's deadline; ``energy_wh`` overrides the reading's remaining energy."""

    end: datetime
    energy_wh: float | None = None

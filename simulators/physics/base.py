"""What every simulated DER shares: setpoint, response lag, ramp, noise, on/off.

A concrete model says three things about its physics, and nothing about protocols:

- ``_bounds(now, dt_s)``: the power range it can hold over the next ``dt_s`` seconds,
  given its state (an empty battery cannot discharge, an absent car cannot charge);
- ``_autonomous_w(now)``: what it does with no setpoint (its default mode);
- ``_advance(now, dt_s, p_w)``: integrate its state with the power it actually ran.

The base class turns a setpoint into that actual power: first-order response lag, ramp
limit, then the physical bounds — so the bounds always win and every invariant of the
state (state of charge, comfort band, energy by deadline) is the model's own business.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Any

from vpp.domain import DerKind, DerRatings, Quality, Reading
from vpp.domain.units import require_aware, require_finite

NOMINAL_V = 230.0
NOMINAL_HZ = 50.0
SETTLED_FRACTION = 1e-4  # of the power range: closer than this to the target is on it


class DerModel:
    """Base of the simulated DERs; see the package docstring for the contract."""

    kind: DerKind = DerKind.PV

    def __init__(
        self,
        der_id: str,
        ratings: DerRatings,
        *,
        params: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        p = dict(params or {})
        self.der_id = der_id
        self.ratings = ratings
        self.params = p
        self.seed = seed
        self.setpoint_w: float | None = None
        self.limit_w: float | None = None
        self.enabled = True
        # time constant of the first-order response to a new target (s); 0 = immediate
        self.response_s = float(p.get("response_s", self.default_response_s()))
        # standard deviation of the measurement noise on p (W)
        self.noise_w = float(p.get("noise_w", 0.002 * max(ratings.p_range_w, 1.0)))
        self._rng = random.Random(f"{seed}:{der_id}:physics")
        self._noise = random.Random(f"{seed}:{der_id}:noise")
        self._p = 0.0
        self._last: datetime | None = None

    # -- contract --------------------------------------------------------------------

    @property
    def p_w(self) -> float:
        """True active power now (W, positive = injection), without measurement noise."""
        return self._p

    def set_setpoint(self, p_w: float | None) -> None:
        """Ask for ``p_w`` (W, sign convention of DESIGN.md); ``None`` = default mode."""
        self.setpoint_w = None if p_w is None else require_finite(p_w, "setpoint")

    def set_limit_w(self, p_w: float | None) -> None:
        """Cap injection at ``p_w`` whatever the setpoint (curtailment); ``None`` = no cap."""
        self.limit_w = None if p_w is None else require_finite(p_w, "limit")

    def set_enabled(self, on: bool) -> None:
        """Start / stop the unit.  A stopped unit runs at 0 W whatever its setpoint."""
        self.enabled = bool(on)

    def step(self, now: datetime, dt_s: float) -> None:
        """Advance the physics by ``dt_s`` seconds ending at ``now`` (aware UTC)."""
        now = require_aware(now, "now")
        if dt_s <= 0:
            self._last = now
            return
        lo, hi = self._bounds(now, dt_s) if self.enabled else (0.0, 0.0)
        target = self._target(now)
        p = self._p
        if self.response_s > 0:
            p += (target - p) * (1.0 - math.exp(-dt_s / self.response_s))
        if abs(target - p) <= SETTLED_FRACTION * max(self.ratings.p_range_w, 1.0):
            p = target  # settled: a first-order lag would only approach it
        ramp = self.ratings.ramp_w_per_s
        if ramp is not None:
            p = min(self._p + ramp * dt_s, max(self._p - ramp * dt_s, p))
        p = self._feasible(min(hi, max(lo, p)), lo, hi, target)
        self._advance(now, dt_s, p)
        self._p = p
        self._last = now

    def reading(self, now: datetime) -> Reading:
        """What the device's meter shows now: true power plus noise, with quality."""
        now = require_aware(now, "now")
        p = self._p + (self._noise.gauss(0.0, self.noise_w) if self.noise_w > 0 else 0.0)
        p = min(self.ratings.p_max_w, max(self.ratings.p_min_w, p)) if self._p != 0 else 0.0
        return Reading(
            der_id=self.der_id,
            ts=now,
            p_w=p,
            quality=Quality.GOOD if self._last is not None else Quality.QUESTIONABLE,
            q_var=0.0,
            v_v=NOMINAL_V + self._noise.gauss(0.0, 0.5),
            hz=NOMINAL_HZ + self._noise.gauss(0.0, 0.005),
            **self._extra_reading(now),
        )

    # -- what subclasses provide ----------------------------------------------------

    def default_response_s(self) -> float:
        return 1.0

    def _target(self, now: datetime) -> float:
        if not self.enabled:
            return 0.0
        target = self._autonomous_w(now) if self.setpoint_w is None else self.setpoint_w
        return target if self.limit_w is None else min(target, self.limit_w)

    def _bounds(self, now: datetime, dt_s: float) -> tuple[float, float]:
        return self.ratings.p_min_w, self.ratings.p_max_w

    def _feasible(self, p: float, lo: float, hi: float, target: float) -> float:
        """Snap ``p`` (already within bounds) to the feasible set; default: identity."""
        return p

    def _autonomous_w(self, now: datetime) -> float:
        return 0.0

    def _advance(self, now: datetime, dt_s: float, p_w: float) -> None:
        return None

    def _extra_reading(self, now: datetime) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.der_id!r}, p_w={self._p:.1f})"

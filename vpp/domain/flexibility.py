"""Flexibility envelopes: how far each DER, and a plant, can move its power now.

An envelope is the interval ``[p_min_w, p_max_w]`` of power (generator sign) a unit can
reach from where it is (``p_now_w``).  ``up_w`` is the headroom towards more injection,
``down_w`` towards more consumption.  Envelopes add: a plant's is the sum of its members'.

CHP and heat pumps may switch off, so their feasible set ``{0} ∪ [min_stable, max]`` is not
convex; the envelope is its convex hull, and the optimizer handles the on/off choice.

Device state narrows it where the device reports it (docs/device-state.md): a heat pump
at the top of its comfort band may not heat, one at the bottom must; a flexible load with
no job due (nothing left, or outside its window) cannot move.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vpp.domain.der import Der, DerKind
from vpp.domain.errors import InvalidValue
from vpp.domain.telemetry import Reading
from vpp.domain.units import SECONDS_PER_HOUR, require_aware

#: A reading older than this says nothing about what the DER can do now.
DEFAULT_MAX_AGE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Envelope:
    p_min_w: float
    p_max_w: float
    p_now_w: float

    def __post_init__(self) -> None:
        if not self.p_min_w <= self.p_max_w:
            raise InvalidValue(f"envelope p_min_w {self.p_min_w} > p_max_w {self.p_max_w}")

    @property
    def up_w(self) -> float:
        """Extra injection reachable from now (>= 0 when p_now is inside the envelope)."""
        return max(0.0, self.p_max_w - self.p_now_w)

    @property
    def down_w(self) -> float:
        """Extra consumption (less injection) reachable from now."""
        return max(0.0, self.p_now_w - self.p_min_w)

    def contains(self, p_w: float, tol: float = 1e-6) -> bool:
        return self.p_min_w - tol <= p_w <= self.p_max_w + tol

    def clamp(self, p_w: float) -> float:
        return min(self.p_max_w, max(self.p_min_w, p_w))

    def __add__(self, other: Envelope) -> Envelope:
        return Envelope(
            self.p_min_w + other.p_min_w,
            self.p_max_w + other.p_max_w,
            self.p_now_w + other.p_now_w,
        )


ZERO = Envelope(0.0, 0.0, 0.0)


def is_fresh(reading: Reading | None, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> bool:
    """A reading is usable when it is valid, not older than ``max_age`` and not future."""
    if reading is None or not reading.usable:
        return False
    age = require_aware(now, "now") - reading.ts
    return timedelta(0) - timedelta(seconds=5) <= age <= max_age


def der_envelope(
    der: Der,
    reading: Reading | None,
    now: datetime,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    sustain_s: float | None = None,
) -> Envelope | None:
    """The envelope of one DER now, or ``None`` when it is unavailable.

    A DER without a fresh, valid reading is unavailable: the aggregator cannot count on
    it.  With ``sustain_s`` the envelope of storage is the power it can hold for that long
    given its stored energy, instead of its instantaneous limit.
    """
    if not is_fresh(reading, now, max_age):
        return None
    assert reading is not None
    r = der.ratings
    p_now = reading.p_w
    kind = der.kind
    if kind is DerKind.PV:
        avail = reading.p_avail_w if reading.p_avail_w is not None else max(p_now, 0.0)
        p_max = min(r.p_max_w, max(avail, r.p_min_w))
        return Envelope(r.p_min_w, p_max, p_now)
    if kind is DerKind.CHP:
        return Envelope(max(0.0, r.p_min_w), r.p_max_w, p_now)
    if kind is DerKind.EV_CHARGER and reading.connected is False:
        return Envelope(0.0, 0.0, p_now)
    if kind.has_storage:
        if reading.soc is None:
            # no state of charge: we cannot tell which way it may move
            return Envelope(p_now, p_now, p_now)
        p_min, p_max = r.p_min_w, r.p_max_w
        if reading.soc >= r.soc_max:
            p_min = max(p_min, 0.0)
        if reading.soc <= r.soc_min:
            p_max = min(p_max, 0.0)
        if sustain_s is not None and sustain_s > 0 and r.energy_wh is not None:
            hours = sustain_s / SECONDS_PER_HOUR
            stored = max(0.0, reading.soc - r.soc_min) * r.energy_wh
            room = max(0.0, r.soc_max - reading.soc) * r.energy_wh
            p_max = min(p_max, max(0.0, stored * r.eff_discharge / hours))
            p_min = max(p_min, -max(0.0, room / r.eff_charge / hours))
        return Envelope(min(p_min, p_max), p_max, p_now)
    if kind is DerKind.HEAT_PUMP and reading.soc is not None:
        return _heat_pump(der, reading)
    job_done = reading.energy_wh is not None and (
        reading.energy_wh <= 0 or reading.deadline is None
    )
    if kind is DerKind.FLEXIBLE_LOAD and job_done:
        return Envelope(0.0, 0.0, p_now)  # no job due (done, or outside its window)
    # heat pump, flexible load: their consumption range
    return Envelope(r.p_min_w, r.p_max_w, p_now)


#: a heat pump this close to the top of its comfort band may not heat, this close to the
#: bottom it must (its reading's ``soc`` is the band's thermal fill)
BAND_EDGE = 0.02


def _heat_pump(der: Der, reading: Reading) -> Envelope:
    r, fill = der.ratings, reading.soc
    assert fill is not None
    if fill >= 1.0 - BAND_EDGE:  # may not heat: off (p_max_w, 0 W for a heat pump)
        return Envelope(r.p_max_w, r.p_max_w, reading.p_w)
    if fill <= BAND_EDGE:
        must = min(r.p_max_w, -r.min_stable_w) if r.min_stable_w else r.p_max_w
        return Envelope(r.p_min_w, max(r.p_min_w, must), reading.p_w)
    return Envelope(r.p_min_w, r.p_max_w, reading.p_w)


@dataclass(frozen=True, slots=True)
class FleetEnvelope:
    """The sum over a group of DERs, with what each contributes and who is missing."""

    total: Envelope
    members: Mapping[str, Envelope] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()


def fleet_envelope(
    ders: Iterable[Der],
    readings: Mapping[str, Reading],
    now: datetime,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    sustain_s: float | None = None,
) -> FleetEnvelope:
    total = ZERO
    members: dict[str, Envelope] = {}
    missing: list[str] = []
    for der in ders:
        env = der_envelope(der, readings.get(der.der_id), now, max_age=max_age, sustain_s=sustain_s)
        if env is None:
            missing.append(der.der_id)
            continue
        members[der.der_id] = env
        total = total + env
    return FleetEnvelope(total, members, tuple(missing))

"""DER kinds, their ratings and a registered DER.

Ratings are in the sign convention of :mod:`vpp.domain.units`: ``p_min_w`` is the most
negative power (largest consumption), ``p_max_w`` the largest injection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum

from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.units import require_finite


class DerKind(StrEnum):
    PV = "pv"
    BATTERY = "battery"
    EV_CHARGER = "ev_charger"
    CHP = "chp"
    HEAT_PUMP = "heat_pump"
    FLEXIBLE_LOAD = "flexible_load"

    @property
    def has_storage(self) -> bool:
        """Kinds whose state of charge limits the power they can offer."""
        return self in (DerKind.BATTERY, DerKind.EV_CHARGER)

    @property
    def generates(self) -> bool:
        return self in (DerKind.PV, DerKind.CHP, DerKind.BATTERY)

    @property
    def consumes(self) -> bool:
        return self in (
            DerKind.BATTERY,
            DerKind.EV_CHARGER,
            DerKind.HEAT_PUMP,
            DerKind.FLEXIBLE_LOAD,
        )


@dataclass(frozen=True, slots=True)
class DerRatings:
    """Nameplate limits of one DER.

    ``min_stable_w`` applies to units that cannot run below it once on (CHP, heat pump):
    their feasible set is ``{0} ∪ [min_stable, max]`` in magnitude.  ``ramp_w_per_s``
    of ``None`` means unlimited.  Efficiencies are fractions in (0, 1].
    """

    p_min_w: float
    p_max_w: float
    energy_wh: float | None = None
    ramp_w_per_s: float | None = None
    eff_charge: float = 1.0
    eff_discharge: float = 1.0
    min_stable_w: float = 0.0
    soc_min: float = 0.0
    soc_max: float = 1.0
    q_max_var: float = 0.0
    min_off_s: float = 0.0  # once stopped, a unit that stays off at least this long (CHP)

    def __post_init__(self) -> None:
        require_finite(self.p_min_w, "p_min_w")
        require_finite(self.p_max_w, "p_max_w")
        if self.p_min_w > self.p_max_w:
            raise InvalidValue(f"p_min_w {self.p_min_w} > p_max_w {self.p_max_w}")
        if self.energy_wh is not None and not require_finite(self.energy_wh, "energy_wh") > 0:
            raise InvalidValue(f"energy_wh must be positive, got {self.energy_wh}")
        if self.ramp_w_per_s is not None and not require_finite(self.ramp_w_per_s, "ramp") > 0:
            raise InvalidValue(f"ramp_w_per_s must be positive, got {self.ramp_w_per_s}")
        for name in ("eff_charge", "eff_discharge"):
            eff = require_finite(getattr(self, name), name)
            if not 0.0 < eff <= 1.0:
                raise InvalidValue(f"{name} must be in (0, 1], got {eff}")
        if require_finite(self.min_stable_w, "min_stable_w") < 0:
            raise InvalidValue(f"min_stable_w must be >= 0, got {self.min_stable_w}")
        if not 0.0 <= self.soc_min < self.soc_max <= 1.0:
            raise InvalidValue(
                f"need 0 <= soc_min < soc_max <= 1, got {self.soc_min}, {self.soc_max}"
            )
        if require_finite(self.min_off_s, "min_off_s") < 0:
            raise InvalidValue(f"min_off_s must be >= 0, got {self.min_off_s}")
        if require_finite(self.q_max_var, "q_max_var") < 0:
            raise InvalidValue(f"q_max_var must be >= 0, got {self.q_max_var}")

    @property
    def p_range_w(self) -> float:
        return self.p_max_w - self.p_min_w


#: the ratings' field names, in declaration order: the one list that config files, the
#: gateway CLI, the store's columns and the API schemas are checked against
RATINGS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DerRatings))


def ratings_as_dict(r: DerRatings) -> dict[str, float | None]:
    """``{field: value}`` for every rating, in :data:`RATINGS_FIELDS` order."""
    return asdict(r)


def check_ratings_for_kind(kind: DerKind, r: DerRatings) -> None:
    """Raise :class:`InvalidValue` where ratings contradict the kind's physics."""
    if kind is DerKind.PV and (r.p_min_w < 0 or r.p_max_w <= 0):
        raise InvalidValue("pv: ratings must be 0 <= p_min_w < p_max_w (PV only generates)")
    if kind is DerKind.CHP and r.p_min_w < 0:
        raise InvalidValue("chp: p_min_w must be >= 0 (a CHP only generates)")
    if kind in (DerKind.EV_CHARGER, DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD) and r.p_max_w > 0:
        raise InvalidValue(f"{kind}: p_max_w must be <= 0 (a load only consumes)")
    if kind.has_storage and r.energy_wh is None:
        raise InvalidValue(f"{kind}: energy_wh (capacity) is required")
    if kind in (DerKind.CHP, DerKind.HEAT_PUMP) and r.min_stable_w > max(
        abs(r.p_min_w), abs(r.p_max_w)
    ):
        raise InvalidValue(f"{kind}: min_stable_w exceeds the power range")


@dataclass(frozen=True, slots=True)
class Der:
    """A registered DER: who it is, where it is reached, what it can do."""

    der_id: str
    kind: DerKind
    ratings: DerRatings
    gateway_id: str
    site_id: str | None = None
    name: str = ""
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        validate_id(self.der_id, "der_id")
        validate_id(self.gateway_id, "gateway_id")
        if self.site_id is not None:
            validate_id(self.site_id, "site_id")
        if not isinstance(self.kind, DerKind):
            raise InvalidValue(f"kind must be a DerKind, got {self.kind!r}")
        check_ratings_for_kind(self.kind, self.ratings)

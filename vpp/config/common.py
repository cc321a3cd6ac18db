"""Pydantic field types shared by the configuration files."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from vpp.domain.der import RATINGS_FIELDS, DerKind, DerRatings, check_ratings_for_kind
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import ID_ANCHORED, ID_REGEX

# Validators raise InvalidValue (a VppError and a ValueError): pydantic turns it into a
# ValidationError, which vpp.config.load_yaml reports as a ConfigError.

Id = Annotated[str, Field(pattern=ID_ANCHORED, description=ID_REGEX)]


def _loopback_or_name(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host or any(c.isspace() for c in host):
            raise InvalidValue(f"not a host name or address: {host!r}") from None
    return host


Host = Annotated[str, AfterValidator(_loopback_or_name)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RatingsConfig(Strict):
    """DER ratings in SI units (W, Wh, W/s), generator sign convention.

    The fields are :class:`vpp.domain.der.DerRatings`' (:data:`RATINGS_FIELDS`), with the
    same defaults; ``tests/config`` checks that they stay so.
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
    min_off_s: float = 0.0

    @model_validator(mode="after")
    def _valid(self) -> RatingsConfig:
        self.to_domain()  # raises InvalidValue where the ratings break a domain rule
        return self

    def to_domain(self) -> DerRatings:
        return DerRatings(**{name: getattr(self, name) for name in RATINGS_FIELDS})


def check_kind_ratings(kind: DerKind, ratings: RatingsConfig | Literal["device"]) -> None:
    """Raise :class:`InvalidValue` where configured ratings contradict the kind's physics
    (ratings read from the device are checked when the gateway reads them)."""
    if isinstance(ratings, RatingsConfig):
        check_ratings_for_kind(kind, ratings.to_domain())

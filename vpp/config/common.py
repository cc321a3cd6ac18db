"""Pydantic field types shared by the configuration files."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from vpp.domain.der import DerKind, DerRatings, check_ratings_for_kind
from vpp.domain.errors import InvalidValue

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="[A-Za-z0-9_-]{1,64}")]


def _loopback_or_name(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host or any(c.isspace() for c in host):
            raise ValueError(f"not a host name or address: {host!r}") from None
    return host


Host = Annotated[str, AfterValidator(_loopback_or_name)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RatingsConfig(Strict):
    """DER ratings in SI units (W, Wh, W/s), generator sign convention."""

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

    @model_validator(mode="after")
    def _valid(self) -> RatingsConfig:
        try:
            self.to_domain()
        except InvalidValue as exc:
            raise ValueError(str(exc)) from exc
        return self

    def to_domain(self) -> DerRatings:
        return DerRatings(**self.model_dump())


def check_kind_ratings(kind: DerKind, ratings: RatingsConfig | Any) -> None:
    if isinstance(ratings, RatingsConfig):
        try:
            check_ratings_for_kind(kind, ratings.to_domain())
        except InvalidValue as exc:
            raise ValueError(str(exc)) from exc

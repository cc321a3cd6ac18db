"""Stable, operator-chosen identifiers.

Ids become NATS subject tokens and SQL keys, so they are validated at every boundary:
``[A-Za-z0-9_-]{1,64}``.
"""

from __future__ import annotations

import re
from typing import NewType

from vpp.domain.errors import InvalidValue

#: the id grammar, written once: the regex text (for JSON Schema / pydantic patterns,
#: anchored there) and its compiled form; :data:`ID_MAX_LENGTH` sizes the SQL columns
ID_REGEX = "[A-Za-z0-9_-]{1,64}"
ID_MAX_LENGTH = 64
ID_ANCHORED = f"^{ID_REGEX}$"
ID_PATTERN = re.compile(ID_REGEX)
_ID = ID_PATTERN

DerId = NewType("DerId", str)
SiteId = NewType("SiteId", str)
GatewayId = NewType("GatewayId", str)
PlantId = NewType("PlantId", str)
TenantId = NewType("TenantId", str)


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid id, else raise :class:`InvalidValue` naming ``what``."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise InvalidValue(f"{what} must match {ID_REGEX}, got {value!r}")
    return value


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def der_id(value: object) -> DerId:
    return DerId(validate_id(value, "der_id"))


def gateway_id(value: object) -> GatewayId:
    return GatewayId(validate_id(value, "gateway_id"))


def plant_id(value: object) -> PlantId:
    return PlantId(validate_id(value, "plant_id"))


def tenant_id(value: object) -> TenantId:
    return TenantId(validate_id(value, "tenant_id"))


def site_id(value: object) -> SiteId:
    return SiteId(validate_id(value, "site_id"))

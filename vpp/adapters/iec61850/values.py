"""IEC 61850 values to domain readings (sans-I/O).

A data set member (``MMXU1$MX$TotW``) arrives, in a report or a read, as one MMS
structure; :func:`leaves` names its parts after the member's online type
(``MMXU1.TotW.mag.f``, ``MMXU1.TotW.q``, ``MMXU1.TotW.t``).  :func:`reading_from_leaves`
builds a :class:`Reading` from the latest leaves: W in the generator convention (the
model's ``TotW`` is positive for injection, as the SCL says), ``units.multiplier``
applied, quality from the value's ``q`` and its timestamp's TimeQuality, and the
device's own timestamp ``TotW.t`` — never the time of receipt.  An optional value whose
own quality is invalid is left out (the device has none now); a deadline arrives as the
seconds left (``DFLX1.TmRem``) and becomes the reading's time plus those seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from open61850.data import BitStringData, FloatData, IECData, IntData, TimestampData, UIntData
from open61850.mms.types import MmsType, label
from open61850.quality import Quality as IecQuality
from open61850.quality import TimeQuality

from vpp.adapters.iec61850.references import Measurement
from vpp.domain.errors import InvalidValue
from vpp.domain.telemetry import Reading
from vpp.domain.units import Quality

# libiec61850 leaves an unwritten timestamp at the epoch: the value was never measured.
_NEVER = datetime(1971, 1, 1, tzinfo=UTC)
_VALIDITY = {
    "good": Quality.GOOD,
    "questionable": Quality.QUESTIONABLE,
    "invalid": Quality.INVALID,
    "reserved": Quality.INVALID,
}


class GarbageValue(InvalidValue):
    """A device sent something that is not what its model says."""


def member_prefix(item: str) -> str:
    """``MMXU1$MX$TotW`` → ``MMXU1.TotW``; ``MMXU1$MX$TotW$mag`` → ``MMXU1.TotW.mag``."""
    parts = item.split("$")
    if len(parts) < 3:
        raise GarbageValue(f"not a functionally constrained data reference: {item!r}")
    return ".".join([parts[0], *parts[2:]])


def leaves(item: str, value: IECData, mms_type: MmsType | None) -> dict[str, IECData]:
    """Every leaf of one member's value, keyed by its dotted path."""
    return dict(label(value, mms_type, member_prefix(item)))


def number(value: Any) -> float | None:
    """A finite float from an MMS number, ``None`` for NaN/inf; garbage raises."""
    if isinstance(value, FloatData | IntData | UIntData):
        out = float(value.value)
        return out if math.isfinite(out) else None
    raise GarbageValue(f"expected a number, got {value!r}")


def quality_of(q: Any, t: Any) -> Quality:
    """Domain quality of a value's ``q`` (7-3 Quality) and ``t`` (TimeQuality)."""
    out = Quality.GOOD
    if q is not None:
        if not isinstance(q, BitStringData):
            raise GarbageValue(f"expected a quality bit string, got {q!r}")
        iq = IecQuality.from_bitstring(q)
        out = _VALIDITY[iq.validity]
        if out is Quality.GOOD and (iq.test or iq.substituted or "old-data" in iq.details):
            out = Quality.QUESTIONABLE
    if isinstance(t, TimestampData) and out is Quality.GOOD:
        tq = TimeQuality.from_octet(t.quality)
        if tq.clock_failure or tq.clock_not_synchronized:
            out = Quality.QUESTIONABLE
    return out


def source_time(t: Any, what: str) -> datetime:
    if not isinstance(t, TimestampData):
        raise GarbageValue(f"{what}: expected a timestamp, got {t!r}")
    ts = t.value if t.value.tzinfo else t.value.replace(tzinfo=UTC)
    if ts < _NEVER:
        raise GarbageValue(f"{what}: no source timestamp (never measured)")
    return ts.astimezone(UTC)


def _magnitude(state: Mapping[str, IECData], m: Measurement) -> IECData | None:
    path = f"{m.key}.{m.magnitude}"
    if path in state:
        return state[path]
    return state.get(path[:-2] + ".i") if path.endswith(".f") else None


def reading_from_leaves(
    der_id: str,
    state: Mapping[str, IECData],
    measurements: tuple[Measurement, ...],
    multipliers: Mapping[str, int],
) -> Reading:
    """Build a reading from the latest leaves; raises :class:`GarbageValue` when the
    active power or its timestamp is missing or malformed."""
    power = measurements[0]
    raw = _magnitude(state, power)
    if raw is None:
        raise GarbageValue(f"no value for {power.key}")
    ts = source_time(state.get(f"{power.key}.{power.status}t"), power.key)
    p_w = number(raw)
    quality = quality_of(state.get(f"{power.key}.{power.status}q"), state.get(f"{power.key}.t"))
    if p_w is None:
        p_w, quality = 0.0, Quality.INVALID
    p_w *= 10.0 ** multipliers.get(power.key, 0)
    extra: dict[str, Any] = {}
    for m in measurements[1:]:
        value = _magnitude(state, m)
        if value is None:
            continue
        try:
            x = number(value)
            own = quality_of(state.get(f"{m.key}.{m.status}q"), None)
        except GarbageValue:
            continue  # an optional field that makes no sense is left out, never guessed
        if x is None or own is Quality.INVALID:
            continue  # the device says it has no such value now
        extra[m.field] = x * m.scale * 10.0 ** multipliers.get(m.key, 0)
    if "deadline" in extra:
        extra["deadline"] = ts + timedelta(seconds=max(0.0, extra["deadline"]))
    if "p_avail_w" in extra:
        extra["p_avail_w"] = max(0.0, extra["p_avail_w"])
    if "connected" in extra:
        extra["connected"] = extra["connected"] != 0
        if not extra["connected"]:
            extra.pop("soc", None)  # no car: its state of charge means nothing
    if "soc" in extra:
        extra["soc"] = min(1.0, max(0.0, extra["soc"]))
    try:
        return Reading(der_id=der_id, ts=ts, p_w=p_w, quality=quality, **extra)
    except InvalidValue as exc:
        raise GarbageValue(str(exc)) from exc

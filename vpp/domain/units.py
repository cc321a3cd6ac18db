"""Units, signs and time conventions.

Inside the system: SI base units (W, var, VA, Wh, V, Hz, s) and fractions 0..1 for state
of charge.  The HTTP API speaks kW/kWh and says so in its field names; conversion happens
at the boundary with these helpers and nowhere else.

Sign: positive power is injected into the grid at the DER's terminals (generator
convention, SunSpec 701 / IEEE 1547).  A discharging battery is positive, a charging
battery, an EV charger or a running heat pump negative.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from vpp.domain.errors import InvalidValue

W_PER_KW = 1000.0
WH_PER_KWH = 1000.0
SECONDS_PER_HOUR = 3600.0


class Quality(StrEnum):
    """Quality flag of a measurement (IEC 61850 validity, simplified)."""

    GOOD = "good"
    QUESTIONABLE = "questionable"
    INVALID = "invalid"


def kw_to_w(p_kw: float) -> float:
    return p_kw * W_PER_KW


def w_to_kw(p_w: float) -> float:
    return p_w / W_PER_KW


def kwh_to_wh(e_kwh: float) -> float:
    return e_kwh * WH_PER_KWH


def wh_to_kwh(e_wh: float) -> float:
    return e_wh / WH_PER_KWH


def energy_wh(p_w: float, seconds: float) -> float:
    """Energy of a constant power held for ``seconds``."""
    return p_w * seconds / SECONDS_PER_HOUR


def _short_repr(value: object, limit: int = 40) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[:limit] + "…"


def require_finite(value: float, what: str) -> float:
    try:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)  # an int beyond float's range overflows here
    except OverflowError:
        ok = False
    if not ok:
        raise InvalidValue(f"{what} must be a finite number, got {_short_repr(value)}")
    return float(value)


def require_aware(ts: datetime, what: str = "timestamp") -> datetime:
    """Timestamps are timezone-aware; they are normalised to UTC."""
    if not isinstance(ts, datetime) or ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware datetime, got {ts!r}")
    return ts.astimezone(UTC)


def format_rfc3339(ts: datetime) -> str:
    """RFC 3339 with ``Z``; microseconds kept when present."""
    ts = require_aware(ts)
    return ts.replace(tzinfo=None).isoformat() + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; an offset is required (``Z`` or ``±hh:mm``)."""
    if not isinstance(text, str):
        raise InvalidValue(f"not an RFC 3339 timestamp: {_short_repr(text)}")
    try:
        ts = datetime.fromisoformat(text.replace("z", "Z"))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"not an RFC 3339 timestamp: {text!r}") from exc
    return require_aware(ts, f"timestamp {text!r}")


_DURATION = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """Parse the ISO 8601 durations used on the wire (``PT15M``, ``PT4S``, ``P1DT2H``).

    Years, months and weeks are refused: their length is ambiguous for power intervals.
    """
    m = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if m is None or text in ("P", "PT") or text.endswith("T"):
        raise InvalidValue(f"not an ISO 8601 duration (days, hours, minutes, seconds): {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def format_duration(delta: timedelta) -> str:
    total = delta.total_seconds()
    if total <= 0:
        raise InvalidValue(f"duration must be positive, got {delta}")
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P"
    if days:
        out += f"{int(days)}D"
    if hours or minutes or seconds:
        out += "T"
        if hours:
            out += f"{int(hours)}H"
        if minutes:
            out += f"{int(minutes)}M"
        if seconds:
            out += f"{seconds:g}S"
    return out

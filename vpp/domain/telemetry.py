"""A telemetry reading: one DER's measured state at its source timestamp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id
from vpp.domain.units import Quality, require_aware, require_finite


@dataclass(frozen=True, slots=True)
class Reading:
    """Measured state of one DER.

    ``ts`` is the device's source timestamp (UTC); it is never replaced by the time the
    reading was received.  ``p_avail_w`` is what the DER could inject right now if not
    curtailed (PV), when the device reports it.  ``connected`` says whether an EV is
    plugged in (EV chargers).  The state fields mean, per kind (docs/device-state.md):

    - ``soc`` (0..1): battery and EV, state of charge; heat pump, the thermal state of
      charge of its comfort band (0 at the lower bound: it must run, 1 at the upper bound:
      it may not run); flexible load, the share of its job's energy already consumed.
    - ``energy_wh``: battery, energy stored; EV, energy the car still asks for; flexible
      load, energy still to consume before ``deadline``.
    - ``temp_c``: heat pump, the temperature of its thermal store (tank or room), °C.
    - ``deadline``: flexible load, when ``energy_wh`` must have been consumed (UTC).
    """

    der_id: str
    ts: datetime
    p_w: float
    quality: Quality = Quality.GOOD
    q_var: float | None = None
    soc: float | None = None
    energy_wh: float | None = None
    p_avail_w: float | None = None
    connected: bool | None = None
    v_v: float | None = None
    hz: float | None = None
    temp_c: float | None = None
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        validate_id(self.der_id, "der_id")
        object.__setattr__(self, "ts", require_aware(self.ts, "reading ts"))
        require_finite(self.p_w, "p_w")
        if not isinstance(self.quality, Quality):
            object.__setattr__(self, "quality", Quality(self.quality))
        for name in ("q_var", "energy_wh", "p_avail_w", "v_v", "hz", "temp_c"):
            value = getattr(self, name)
            if value is not None:
                require_finite(value, name)
        if self.soc is not None and not 0.0 <= require_finite(self.soc, "soc") <= 1.0:
            raise InvalidValue(f"soc must be within 0..1, got {self.soc}")
        if self.deadline is not None:
            object.__setattr__(self, "deadline", require_aware(self.deadline, "deadline"))

    @property
    def usable(self) -> bool:
        """Invalid readings say nothing about the device's state."""
        return self.quality is not Quality.INVALID

    def is_newer_than(self, other: Reading | None) -> bool:
        return other is None or self.ts > other.ts

    def as_row(self) -> ReadingRow:
        """The reading as a plain tuple in :data:`READING_ROW_FIELDS` order."""
        return (
            self.der_id,
            self.ts,
            self.p_w,
            self.q_var,
            self.soc,
            self.energy_wh,
            self.p_avail_w,
            self.connected,
            self.v_v,
            self.hz,
            self.temp_c,
            self.deadline,
            self.quality.value,
        )

    @classmethod
    def from_row(cls, row: ReadingRow) -> Reading:
        der_id, ts, p_w, q_var, soc, energy_wh, p_avail_w, connected, v_v, hz, t, dl, q = row
        return cls(
            der_id, ts, p_w, Quality(q), q_var, soc, energy_wh, p_avail_w, connected, v_v, hz, t, dl
        )


#: The field order of a reading row — a validated reading as a plain tuple, the shape the
#: projector's hot path carries from the wire to the database without building objects.
READING_ROW_FIELDS: tuple[str, ...] = (
    "der_id",
    "ts",
    "p_w",
    "q_var",
    "soc",
    "energy_wh",
    "p_avail_w",
    "connected",
    "v_v",
    "hz",
    "temp_c",
    "deadline",
    "quality",
)

#: ``(der_id, ts, p_w, q_var, soc, energy_wh, p_avail_w, connected, v_v, hz, temp_c,
#: deadline, quality)``: ``ts`` and ``deadline`` aware UTC, ``quality`` a :class:`Quality`
#: value; only ever built from a value that passed :class:`Reading`'s checks.
ReadingRow: TypeAlias = tuple[
    str,
    datetime,
    float,
    float | None,
    float | None,
    float | None,
    float | None,
    bool | None,
    float | None,
    float | None,
    float | None,
    datetime | None,
    str,
]

#: the longest health reason kept (the store's column holds this many characters)
HEALTH_REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """The gateway's view of one device at ``ts`` (the gateway's clock, UTC): whether it
    answers sensibly, and if not, why.  The newest statement per DER wins."""

    der_id: str
    ts: datetime
    healthy: bool
    reason: str = ""

    def __post_init__(self) -> None:
        validate_id(self.der_id, "der_id")
        object.__setattr__(self, "ts", require_aware(self.ts, "health ts"))
        if not isinstance(self.healthy, bool):
            raise InvalidValue(f"healthy must be a boolean, got {self.healthy!r}")
        if not isinstance(self.reason, str):
            raise InvalidValue(f"health reason must be text, got {self.reason!r}")
        if len(self.reason) > HEALTH_REASON_MAX:
            object.__setattr__(self, "reason", self.reason[: HEALTH_REASON_MAX - 1] + "…")


#: what a telemetry message carries to the projector: reading rows and health statements
TelemetryItem: TypeAlias = ReadingRow | DeviceHealth


def item_der_id(item: TelemetryItem) -> str:
    """The DER a telemetry item is about."""
    return item.der_id if isinstance(item, DeviceHealth) else item[0]

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
    curtailed (PV), when the device reports it.  ``soc`` is a fraction 0..1 (storage);
    ``connected`` says whether an EV is plugged in (EV chargers).
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

    def __post_init__(self) -> None:
        validate_id(self.der_id, "der_id")
        object.__setattr__(self, "ts", require_aware(self.ts, "reading ts"))
        require_finite(self.p_w, "p_w")
        if not isinstance(self.quality, Quality):
            object.__setattr__(self, "quality", Quality(self.quality))
        for name in ("q_var", "energy_wh", "p_avail_w", "v_v", "hz"):
            value = getattr(self, name)
            if value is not None:
                require_finite(value, name)
        if self.soc is not None and not 0.0 <= require_finite(self.soc, "soc") <= 1.0:
            raise InvalidValue(f"soc must be within 0..1, got {self.soc}")

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
            self.quality.value,
        )

    @classmethod
    def from_row(cls, row: ReadingRow) -> Reading:
        der_id, ts, p_w, q_var, soc, energy_wh, p_avail_w, connected, v_v, hz, quality = row
        return cls(
            der_id, ts, p_w, Quality(quality), q_var, soc, energy_wh, p_avail_w, connected, v_v, hz
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
    "quality",
)

#: ``(der_id, ts, p_w, q_var, soc, energy_wh, p_avail_w, connected, v_v, hz, quality)``:
#: ``ts`` aware UTC, ``quality`` a :class:`Quality` value; only ever built from a value
#: that passed :class:`Reading`'s checks.
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
    str,
]

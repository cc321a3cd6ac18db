"""Read use cases of the operator API: plants with their envelope now, DERs, telemetry.

Every read is scoped to the caller's tenant; another tenant's plant or DER is "not found".
Telemetry ranges are bounded (length and rows) and the refusal says which bound was hit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from vpp.application.ports import (
    DerRecord,
    PlantBucket,
    RegistryStore,
    RollupRow,
    TelemetryReadStore,
)
from vpp.application.use_case_errors import NotFound, Refused
from vpp.domain.flexibility import (
    DEFAULT_MAX_AGE,
    Envelope,
    FleetEnvelope,
    der_envelope,
    fleet_envelope,
)
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading
from vpp.domain.units import format_rfc3339
from vpp.runtime import utc_now

MAX_RANGE = timedelta(days=7)
MAX_QUARTER_RANGE = timedelta(days=100)  # 9,600 quarter hours: under MAX_ROWS
MAX_RAW_RANGE = timedelta(days=1)
RAW_BY_DEFAULT_UP_TO = timedelta(hours=1)
DEFAULT_RANGE = timedelta(hours=1)
MAX_ROWS = 10_000


class Resolution(StrEnum):
    RAW = "raw"
    MINUTE = "1m"
    QUARTER = "15m"


@dataclass(frozen=True, slots=True)
class PlantView:
    plant: Plant
    envelope: FleetEnvelope
    unregistered: tuple[str, ...]  # members named by the plant but not registered
    as_of: datetime


@dataclass(frozen=True, slots=True)
class DerView:
    record: DerRecord
    latest: Reading | None
    envelope: Envelope | None  # None: no fresh, valid reading, so not available now
    plants: tuple[str, ...]
    as_of: datetime


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime
    resolution: Resolution


@dataclass(frozen=True, slots=True)
class DerTelemetry:
    der_id: str
    range: TimeRange
    readings: list[Reading]
    rollups: list[RollupRow]


@dataclass(frozen=True, slots=True)
class PlantTelemetry:
    plant_id: str
    range: TimeRange
    buckets: list[PlantBucket]
    members: tuple[str, ...]


def resolve_range(
    start: datetime | None,
    end: datetime | None,
    resolution: Resolution | None,
    now: datetime,
    *,
    raw_allowed: bool = True,
    kept_from: Mapping[str, datetime] | None = None,
) -> TimeRange:
    """Defaults (the last hour; raw up to an hour, else 1 min) and bounds of a range.

    ``kept_from`` (level → where retention left its rows begin): without an explicit
    resolution, a range that starts before a level's rows gives way to the next coarser
    level (raw → 1 min → 15 min), so an old range is served from the roll-ups."""
    try:
        end = end.astimezone(UTC) if end is not None else now
        start = start.astimezone(UTC) if start is not None else end - DEFAULT_RANGE
    except OverflowError:
        raise Refused("start and end must lie between years 1 and 9999 in UTC") from None
    if start >= end:
        raise Refused(f"start {format_rfc3339(start)} must be before end {format_rfc3339(end)}")
    span = end - start
    if resolution is None:
        resolution = _by_range(start, span, raw_allowed, kept_from or {})
    limit = MAX_QUARTER_RANGE if resolution is Resolution.QUARTER else MAX_RANGE
    if span > limit:
        raise Refused(
            f"the range spans {span}; at most {limit.days} days per request"
            + ("" if resolution is Resolution.QUARTER else " (resolution=15m: 100 days)")
        )
    if resolution is Resolution.RAW:
        if not raw_allowed:
            raise Refused("plant telemetry is summed per minute: use resolution=1m")
        if span > MAX_RAW_RANGE:
            raise Refused(
                f"raw telemetry spans at most {MAX_RAW_RANGE.days} day per request; "
                "use resolution=1m or a shorter range"
            )
    return TimeRange(start, end, resolution)


def _by_range(
    start: datetime, span: timedelta, raw_allowed: bool, kept_from: Mapping[str, datetime]
) -> Resolution:
    small = span <= RAW_BY_DEFAULT_UP_TO and raw_allowed
    resolution = Resolution.RAW if small else Resolution.MINUTE
    gone = {level for level, since in kept_from.items() if start < since}
    if resolution is Resolution.RAW and Resolution.RAW.value in gone:
        resolution = Resolution.MINUTE
    if resolution is Resolution.MINUTE and Resolution.MINUTE.value in gone:
        resolution = Resolution.QUARTER
    return resolution


def _check_rows(n: int, r: TimeRange) -> None:
    if n > MAX_ROWS:
        raise Refused(
            f"more than {MAX_ROWS} rows between {format_rfc3339(r.start)} and "
            f"{format_rfc3339(r.end)} at resolution {r.resolution}; narrow the range"
        )


class OperatorQueries:
    def __init__(
        self,
        registry: RegistryStore,
        telemetry: TelemetryReadStore,
        *,
        now: Callable[[], datetime] = utc_now,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self._registry = registry
        self._telemetry = telemetry
        self._now = now
        self._max_age = max_age

    def plants(self, tenant_id: str, *, after: str | None, limit: int) -> list[Plant]:
        return self._registry.plants(tenant_id, after=after, limit=limit)

    def tenant_plant(self, tenant_id: str, plant_id: str) -> Plant:
        plant = self._registry.plant(plant_id)
        if plant is None or plant.plant_id != plant_id or plant.tenant_id != tenant_id:
            raise NotFound("plant", plant_id)
        return plant

    def plant_view(self, tenant_id: str, plant_id: str) -> PlantView:
        plant = self.tenant_plant(tenant_id, plant_id)
        now = self._now()
        records = self._registry.der_records(plant.members)
        readings = self._registry.latest_readings(records.keys())
        ders = [records[d].der for d in sorted(records)]
        envelope = fleet_envelope(ders, readings, now, max_age=self._max_age)
        unregistered = tuple(sorted(plant.members - records.keys()))
        return PlantView(plant, envelope, unregistered, now)

    def ders(self, tenant_id: str, *, after: str | None, limit: int) -> list[DerRecord]:
        ids = self._registry.visible_der_ids(tenant_id, after=after, limit=limit)
        records = self._registry.der_records(ids)
        return [records[d] for d in ids if d in records]

    def _tenant_der(self, tenant_id: str, der_id: str) -> DerRecord:
        record = self._registry.der_records([der_id]).get(der_id)
        if record is None or not self._registry.der_visible(tenant_id, der_id):
            raise NotFound("DER", der_id)
        return record

    def der_view(self, tenant_id: str, der_id: str) -> DerView:
        record = self._tenant_der(tenant_id, der_id)
        now = self._now()
        latest = self._registry.latest_readings([der_id]).get(der_id)
        envelope = der_envelope(record.der, latest, now, max_age=self._max_age)
        plants = tuple(self._registry.plants_with_member(tenant_id, der_id))
        return DerView(record, latest, envelope, plants, now)

    def der_telemetry(
        self,
        tenant_id: str,
        der_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        resolution: Resolution | None,
    ) -> DerTelemetry:
        self._tenant_der(tenant_id, der_id)
        kept = self._telemetry.kept_from() if resolution is None else None
        r = resolve_range(start, end, resolution, self._now(), kept_from=kept)
        if r.resolution is Resolution.RAW:
            rows = self._telemetry.readings(der_id, r.start, r.end, MAX_ROWS + 1)
            _check_rows(len(rows), r)
            return DerTelemetry(der_id, r, rows, [])
        level = r.resolution.value
        rollups = self._telemetry.rollups(der_id, r.start, r.end, MAX_ROWS + 1, level)
        _check_rows(len(rollups), r)
        return DerTelemetry(der_id, r, [], rollups)

    def plant_telemetry(
        self,
        tenant_id: str,
        plant_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        resolution: Resolution | None,
    ) -> PlantTelemetry:
        plant = self.tenant_plant(tenant_id, plant_id)
        kept = self._telemetry.kept_from() if resolution is None else None
        r = resolve_range(start, end, resolution, self._now(), raw_allowed=False, kept_from=kept)
        members = tuple(sorted(plant.members))
        level = r.resolution.value
        buckets = self._telemetry.plant_buckets(members, r.start, r.end, MAX_ROWS + 1, level)
        _check_rows(len(buckets), r)
        return PlantTelemetry(plant_id, r, buckets, members)

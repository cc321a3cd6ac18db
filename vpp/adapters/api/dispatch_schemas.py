"""Dispatch request (create) and dispatch (public) schemas, in kW and kWh."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vpp.application.dispatch_requests import (
    MAX_INTERVALS,
    DispatchInput,
    DispatchView,
    OnShortfall,
)
from vpp.application.ports import DispatchRecord, IntervalRecord, tally_from_columns
from vpp.domain.dispatch import DispatchMode, DispatchStatus, Interval
from vpp.domain.errors import InvalidValue
from vpp.domain.units import format_duration, parse_duration, require_aware

MAX_ABS_P_KW = 1e7  # 10 GW: beyond any plant; a bound against absurd inputs
MIN_DURATION = timedelta(seconds=1)
MAX_DURATION = timedelta(days=1)


def _kw(value_w: float | None) -> float | None:
    return None if value_w is None else value_w / 1000.0


class IntervalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="RFC 3339 with offset, e.g. 2026-11-26T12:00:00Z")
    duration: str = Field(max_length=40, description="ISO 8601, e.g. PT15M", examples=["PT15M"])
    p_kw: float = Field(
        ge=-MAX_ABS_P_KW,
        le=MAX_ABS_P_KW,
        allow_inf_nan=False,
        description="absolute: plant power (+ = injection); relative: change against baseline",
    )

    def to_domain(self, idx: int) -> Interval:
        try:
            duration = parse_duration(self.duration)
            start = require_aware(self.start, f"interval {idx} start")
            _ = start + duration  # the end must be representable
        except OverflowError:
            raise InvalidValue(
                f"interval {idx}: start and end must lie between years 1 and 9999 in UTC, "
                f"and the duration below {MAX_DURATION.days} day"
            ) from None
        except ValueError as exc:
            raise InvalidValue(f"interval {idx}: {exc}") from None
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise InvalidValue(
                f"interval {idx}: duration {self.duration} outside {MIN_DURATION}..{MAX_DURATION}"
            )
        return Interval(start, duration, self.p_kw * 1000.0)


class DispatchCreate(BaseModel):
    """A target profile for a plant: consecutive (or gapped), non-overlapping intervals."""

    model_config = ConfigDict(extra="forbid")

    mode: DispatchMode
    intervals: list[IntervalCreate] = Field(min_length=1, max_length=MAX_INTERVALS)
    on_shortfall: OnShortfall = Field(
        OnShortfall.ACCEPT,
        description="if the plant cannot reach the target now: accept and state the "
        "shortfall, or refuse",
    )

    def to_domain(self, plant_id: str) -> DispatchInput:
        intervals = [iv.to_domain(i) for i, iv in enumerate(self.intervals)]
        return DispatchInput(plant_id, self.mode, intervals, self.on_shortfall)


class TrackingPublic(BaseModel):
    """How well the plant tracked this interval (4 s samples; rule in docs/dispatch.md)."""

    samples: int = Field(description="measurements taken in the interval")
    judged: int = Field(description="samples after the activation allowance")
    share_within: float | None = Field(description="share of judged samples within the band")
    rms_kw: float | None = Field(description="RMS error against the reference, every sample")
    worst_kw: float = Field(description="largest error against the reference")
    time_to_band_s: float | None = Field(
        description="from the interval's start to the first sample within the band"
    )

    @classmethod
    def from_record(cls, iv: IntervalRecord) -> TrackingPublic:
        tally = tally_from_columns(iv)
        return cls(
            samples=tally.samples,
            judged=tally.judged,
            share_within=tally.share_within,
            rms_kw=_kw(tally.rms_w),
            worst_kw=tally.worst_w / 1000.0,
            time_to_band_s=tally.first_in_band_s,
        )


class DispatchIntervalPublic(BaseModel):
    idx: int
    start: datetime
    end: datetime
    duration: str
    p_kw_requested: float = Field(description="as requested (absolute, or relative change)")
    p_kw_target: float | None = Field(description="absolute plant target, once planned")
    p_kw_planned: float | None = Field(description="what the plan can reach")
    energy_kwh_requested: float | None = Field(description="absolute mode: p × duration")
    energy_kwh_target: float | None
    energy_kwh_delivered: float
    energy_kwh_shortfall: float = Field(description="what the plant was stated to miss")
    p_kw_measured_last: float | None
    tracking: TrackingPublic

    @classmethod
    def from_record(cls, iv: IntervalRecord, mode: str) -> DispatchIntervalPublic:
        duration = timedelta(seconds=iv.duration_s)
        requested = (
            iv.p_w_requested * iv.duration_s / 3600.0 / 1000.0
            if mode == DispatchMode.ABSOLUTE.value
            else None
        )
        return cls(
            idx=iv.idx,
            start=iv.start,
            end=iv.start + duration,
            duration=format_duration(duration),
            p_kw_requested=iv.p_w_requested / 1000.0,
            p_kw_target=_kw(iv.p_w_target),
            p_kw_planned=_kw(iv.p_w_planned),
            energy_kwh_requested=requested,
            energy_kwh_target=_kw(iv.energy_wh_target),
            energy_kwh_delivered=iv.energy_wh_delivered / 1000.0,
            energy_kwh_shortfall=iv.energy_wh_shortfall / 1000.0,
            p_kw_measured_last=_kw(iv.p_w_measured_last),
            tracking=TrackingPublic.from_record(iv),
        )


class CommandsPublic(BaseModel):
    sent: int = Field(description="per-DER commands sent for this dispatch")
    acks: dict[str, int] = Field(description="acknowledgements by outcome")


class DispatchSummary(BaseModel):
    dispatch_id: str
    plant_id: str
    mode: str
    status: str
    final: bool
    start: datetime
    end: datetime
    created_at: datetime
    updated_at: datetime
    shortfall_kw: float = Field(description="largest shortfall over the intervals (0: none)")
    detail: str | None

    @classmethod
    def from_record(cls, r: DispatchRecord) -> DispatchSummary:
        return cls(
            dispatch_id=r.dispatch_id,
            plant_id=r.plant_id,
            mode=r.mode,
            status=r.status,
            final=DispatchStatus(r.status).final,
            start=r.start,
            end=r.end,
            created_at=r.created_at,
            updated_at=r.updated_at,
            shortfall_kw=r.shortfall_w / 1000.0,
            detail=r.detail,
        )


class DispatchPublic(DispatchSummary):
    baseline_kw: float | None = Field(description="plant power when planned (relative mode)")
    commands: CommandsPublic
    intervals: list[DispatchIntervalPublic]

    @classmethod
    def from_view(cls, view: DispatchView) -> DispatchPublic:
        r = view.record
        return cls(
            **DispatchSummary.from_record(r).model_dump(),
            baseline_kw=_kw(r.baseline_w),
            commands=CommandsPublic(sent=view.commands.sent, acks=dict(view.commands.acks)),
            intervals=[DispatchIntervalPublic.from_record(iv, r.mode) for iv in view.intervals],
        )


class DispatchList(BaseModel):
    items: list[DispatchSummary]

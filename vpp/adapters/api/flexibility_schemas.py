"""Public schema of a plant's flexibility over a horizon, in kW and kWh."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from vpp.application.flexibility import PlantFlexibilityView
from vpp.domain.units import format_duration

RULE = (
    "per interval, the power the plant can hold for the whole interval within its members' "
    "energy limits, moving from the baseline (each member's own behaviour); each interval "
    "independently, from the state the baseline reaches by its start; an offer never makes a "
    "later obligation (EV departure, load deadline, comfort band) impossible"
)


class FlexibilityIntervalPublic(BaseModel):
    start: datetime
    duration: str = Field(description="ISO 8601")
    baseline_kw: float = Field(description="expected power without a dispatch (+ = injection)")
    up_kw: float = Field(description="extra injection the plant can hold for the interval")
    down_kw: float = Field(description="extra consumption the plant can hold for the interval")
    p_max_kw: float = Field(description="baseline + up")
    p_min_kw: float = Field(description="baseline - down")
    up_kwh: float = Field(description="energy of holding up_kw for the interval")
    down_kwh: float = Field(description="energy of holding down_kw for the interval")


class PlantFlexibilityPublic(BaseModel):
    plant_id: str
    start: datetime
    end: datetime
    step: str = Field(description="ISO 8601")
    as_of: datetime = Field(description="the state (latest readings) this is computed from")
    rule: str
    intervals: list[FlexibilityIntervalPublic]
    members_planned: list[str]
    members_held: list[str] = Field(description="no state reported: baseline only")
    members_unavailable: list[str] = Field(description="no fresh reading, or unhealthy")
    members_unregistered: list[str]
    notes: list[str]

    @classmethod
    def from_view(cls, view: PlantFlexibilityView) -> PlantFlexibilityPublic:
        f, h = view.flexibility, view.horizon
        hours = h.step.total_seconds() / 3600.0
        duration = format_duration(h.step)
        intervals = [
            FlexibilityIntervalPublic(
                start=h.start + k * h.step,
                duration=duration,
                baseline_kw=float(f.baseline_w[k]) / 1000.0,
                up_kw=float(f.up_w[k]) / 1000.0,
                down_kw=float(f.down_w[k]) / 1000.0,
                p_max_kw=float(f.p_max_w[k]) / 1000.0,
                p_min_kw=float(f.p_min_w[k]) / 1000.0,
                up_kwh=float(f.up_w[k]) * hours / 1000.0,
                down_kwh=float(f.down_w[k]) * hours / 1000.0,
            )
            for k in range(h.steps)
        ]
        return cls(
            plant_id=view.plant_id,
            start=h.start,
            end=h.end,
            step=duration,
            as_of=view.as_of,
            rule=RULE,
            intervals=intervals,
            members_planned=sorted(f.members),
            members_held=sorted(f.held),
            members_unavailable=sorted(f.left_out),
            members_unregistered=list(view.unregistered),
            notes=list(f.notes),
        )

"""Public schemas of plants, DERs, envelopes and telemetry — in kW, kWh, kvar.

Conversion from the SI units inside happens here (``from_*`` constructors) and nowhere
else in the API.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from vpp.application.ports import DerRecord
from vpp.application.queries import DerTelemetry, DerView, PlantTelemetry, PlantView
from vpp.domain.flexibility import Envelope
from vpp.domain.plant import Plant
from vpp.domain.telemetry import Reading


def kw(value_w: float | None) -> float | None:
    return None if value_w is None else value_w / 1000.0


class EnvelopePublic(BaseModel):
    """Power the unit can reach now (generator sign: positive = injection)."""

    p_min_kw: float
    p_max_kw: float
    p_now_kw: float
    up_kw: float = Field(description="extra injection reachable from now")
    down_kw: float = Field(description="extra consumption reachable from now")

    @classmethod
    def from_envelope(cls, env: Envelope) -> EnvelopePublic:
        return cls(
            p_min_kw=env.p_min_w / 1000.0,
            p_max_kw=env.p_max_w / 1000.0,
            p_now_kw=env.p_now_w / 1000.0,
            up_kw=env.up_w / 1000.0,
            down_kw=env.down_w / 1000.0,
        )


class PlantEnvelopePublic(EnvelopePublic):
    as_of: datetime
    members_available: list[str]
    members_unavailable: list[str] = Field(description="no fresh, valid reading")
    members_unregistered: list[str]


class PlantPublic(BaseModel):
    plant_id: str
    name: str
    members: list[str]

    @classmethod
    def from_plant(cls, plant: Plant) -> PlantPublic:
        return cls(plant_id=plant.plant_id, name=plant.name, members=sorted(plant.members))


class PlantDetail(PlantPublic):
    envelope: PlantEnvelopePublic

    @classmethod
    def from_view(cls, view: PlantView) -> PlantDetail:
        env = view.envelope
        envelope = PlantEnvelopePublic(
            **EnvelopePublic.from_envelope(env.total).model_dump(),
            as_of=view.as_of,
            members_available=sorted(env.members),
            members_unavailable=sorted(env.unavailable),
            members_unregistered=list(view.unregistered),
        )
        return cls(**PlantPublic.from_plant(view.plant).model_dump(), envelope=envelope)


class PlantList(BaseModel):
    items: list[PlantPublic]
    next_after: str | None = Field(description="pass as ?after= for the next page")


class RatingsPublic(BaseModel):
    p_min_kw: float
    p_max_kw: float
    energy_kwh: float | None
    ramp_kw_per_s: float | None
    eff_charge: float
    eff_discharge: float
    min_stable_kw: float
    soc_min: float
    soc_max: float
    q_max_kvar: float
    min_off_s: float


class DerPublic(BaseModel):
    der_id: str
    kind: str
    name: str
    gateway_id: str
    site_id: str | None
    protocol: str | None
    address: str | None
    healthy: bool = Field(description="the gateway's view: the device answers sensibly")
    health_reason: str
    health_ts: datetime | None = Field(description="when the gateway last said so")
    ratings: RatingsPublic

    @classmethod
    def from_record(cls, rec: DerRecord) -> DerPublic:
        d, r = rec.der, rec.der.ratings
        ratings = RatingsPublic(
            p_min_kw=r.p_min_w / 1000.0,
            p_max_kw=r.p_max_w / 1000.0,
            energy_kwh=kw(r.energy_wh),
            ramp_kw_per_s=kw(r.ramp_w_per_s),
            eff_charge=r.eff_charge,
            eff_discharge=r.eff_discharge,
            min_stable_kw=r.min_stable_w / 1000.0,
            soc_min=r.soc_min,
            soc_max=r.soc_max,
            q_max_kvar=r.q_max_var / 1000.0,
            min_off_s=r.min_off_s,
        )
        return cls(
            der_id=d.der_id,
            kind=d.kind.value,
            name=d.name,
            gateway_id=d.gateway_id,
            site_id=d.site_id,
            protocol=rec.protocol,
            address=rec.address,
            healthy=rec.healthy,
            health_reason=rec.health_reason,
            health_ts=rec.health_ts,
            ratings=ratings,
        )


class ReadingPublic(BaseModel):
    ts: datetime = Field(description="the device's source timestamp")
    quality: str
    p_kw: float
    q_kvar: float | None = None
    soc: float | None = None
    energy_kwh: float | None = None
    p_avail_kw: float | None = None
    connected: bool | None = None
    v_v: float | None = None
    hz: float | None = None
    temp_c: float | None = Field(default=None, description="heat pump: its thermal store")
    deadline: datetime | None = Field(
        default=None, description="flexible load: energy_kwh is due by then"
    )

    @classmethod
    def from_reading(cls, r: Reading) -> ReadingPublic:
        return cls(
            ts=r.ts,
            quality=r.quality.value,
            p_kw=r.p_w / 1000.0,
            q_kvar=kw(r.q_var),
            soc=r.soc,
            energy_kwh=kw(r.energy_wh),
            p_avail_kw=kw(r.p_avail_w),
            connected=r.connected,
            v_v=r.v_v,
            hz=r.hz,
            temp_c=r.temp_c,
            deadline=r.deadline,
        )


class DerDetail(DerPublic):
    as_of: datetime
    available: bool = Field(description="has a fresh, valid reading now")
    envelope: EnvelopePublic | None
    latest: ReadingPublic | None
    plants: list[str]

    @classmethod
    def from_view(cls, view: DerView) -> DerDetail:
        return cls(
            **DerPublic.from_record(view.record).model_dump(),
            as_of=view.as_of,
            available=view.envelope is not None,
            envelope=EnvelopePublic.from_envelope(view.envelope) if view.envelope else None,
            latest=ReadingPublic.from_reading(view.latest) if view.latest else None,
            plants=list(view.plants),
        )


class DerList(BaseModel):
    items: list[DerPublic]
    next_after: str | None


class TelemetryPoint(BaseModel):
    """Raw: one reading (``p_kw``, ``quality``).  1m: a minute (``p_kw`` = average)."""

    ts: datetime
    p_kw: float
    p_kw_min: float | None = None
    p_kw_max: float | None = None
    q_kvar: float | None = None
    soc: float | None = None
    quality: str | None = None
    n: int | None = Field(default=None, description="readings in the bucket")
    n_bad: int | None = Field(default=None, description="questionable or invalid readings")


class DerTelemetryPublic(BaseModel):
    der_id: str
    start: datetime
    end: datetime
    resolution: str
    points: list[TelemetryPoint]

    @classmethod
    def from_result(cls, t: DerTelemetry) -> DerTelemetryPublic:
        points = [
            TelemetryPoint(
                ts=r.ts, p_kw=r.p_w / 1000.0, q_kvar=kw(r.q_var), soc=r.soc, quality=r.quality
            )
            for r in t.readings
        ] + [
            TelemetryPoint(
                ts=m.bucket,
                p_kw=m.p_w_avg / 1000.0,
                p_kw_min=m.p_w_min / 1000.0,
                p_kw_max=m.p_w_max / 1000.0,
                q_kvar=kw(m.q_var_avg),
                soc=m.soc_last,
                n=m.n,
                n_bad=m.n_bad,
            )
            for m in t.rollups
        ]
        r = t.range
        return cls(
            der_id=t.der_id, start=r.start, end=r.end, resolution=r.resolution, points=points
        )


class PlantTelemetryPoint(BaseModel):
    ts: datetime = Field(description="start of the bucket (minute or quarter hour)")
    p_kw: float = Field(description="sum of the reporting members' average power")
    n_members: int = Field(description="members that reported in this bucket")
    n_bad: int


class PlantTelemetryPublic(BaseModel):
    plant_id: str
    start: datetime
    end: datetime
    resolution: str
    members: list[str]
    points: list[PlantTelemetryPoint]

    @classmethod
    def from_result(cls, t: PlantTelemetry) -> PlantTelemetryPublic:
        r = t.range
        return cls(
            plant_id=t.plant_id,
            start=r.start,
            end=r.end,
            resolution=r.resolution,
            members=list(t.members),
            points=[
                PlantTelemetryPoint(
                    ts=b.bucket, p_kw=b.p_w_sum / 1000.0, n_members=b.n_members, n_bad=b.n_bad
                )
                for b in t.buckets
            ],
        )

"""Sans-I/O: SCL references, IEC 61850 values to domain readings, release targets."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from open61850.data import BitStringData, FloatData, IntData, StructureData, TimestampData
from open61850.mms.types import PrimitiveType, StructureType

from vpp.adapters.iec61850.references import MEASUREMENTS, device_references
from vpp.adapters.iec61850.release import already_released, release_target
from vpp.adapters.iec61850.values import GarbageValue, leaves, quality_of, reading_from_leaves
from vpp.codecs.scl import parse_scl
from vpp.domain.der import DerKind
from vpp.domain.errors import InvalidValue
from vpp.domain.units import Quality

MODELS = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420"
KINDS = ("battery", "chp", "ev_charger", "flexible_load", "heat_pump", "pv")
TS = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)
MV = StructureType(
    [
        ("mag", StructureType([("f", PrimitiveType("floating-point"))])),
        ("q", PrimitiveType("bit-string")),
        ("t", PrimitiveType("utc-time")),
    ]
)


def q_bits(validity: int = 0, test: bool = False) -> BitStringData:
    """validity 0 good, 1 invalid, 3 questionable (bits 0-1); test is bit 11."""
    raw = (validity << 14) | (1 << 4 if test else 0)
    return BitStringData(raw.to_bytes(2, "big"), 3)


def mv(value: float, q: BitStringData | None = None, t: datetime = TS, tq: int = 0x0A):
    return StructureData([StructureData([FloatData(value)]), q or q_bits(), TimestampData(t, tq)])


def state(p: float = 1500.0, **kw):  # type: ignore[no-untyped-def]
    return leaves("MMXU1$MX$TotW", mv(p, **kw), MV)


@pytest.mark.parametrize("kind", KINDS)
def test_every_model_gives_references(kind: str) -> None:
    refs = device_references(parse_scl((MODELS / f"{kind}.icd").read_text()), "Sx", "DER")
    assert refs.measurements[0].key == "MMXU1.TotW"
    assert refs.setpoint == "DRCC1$CO$OutWSet"
    assert refs.data_set == "LLN0$Measurements" and "MMXU1$MX$TotW" in refs.data_set_members
    assert refs.buffered_rcbs[0] == "LLN0$BR$brcbMX01"
    assert refs.domain == "SxDER"
    assert refs.rating_paths == ("DRAT1$SP$MaxWOut$setMag$f", "DRAT1$SP$MaxWIn$setMag$f")


def test_full_ld_name_is_accepted_and_unknown_ld_refused() -> None:
    doc = parse_scl((MODELS / "pv.icd").read_text())
    assert device_references(doc, "Spv", "SpvDER").ld == "DER"
    with pytest.raises(InvalidValue):
        device_references(doc, "Spv", "LD0")


def test_reading_keeps_the_source_timestamp_and_units() -> None:
    r = reading_from_leaves("pv-1", state(), MEASUREMENTS[:1], {"MMXU1.TotW": 3})
    assert r.ts == TS and r.p_w == pytest.approx(1.5e6) and r.quality is Quality.GOOD


@pytest.mark.parametrize(
    ("q", "tq", "expected"),
    [
        (q_bits(0), 0x0A, Quality.GOOD),
        (q_bits(1), 0x0A, Quality.INVALID),
        (q_bits(3), 0x0A, Quality.QUESTIONABLE),
        (q_bits(0, test=True), 0x0A, Quality.QUESTIONABLE),
        (q_bits(0), 0x40, Quality.QUESTIONABLE),  # clock failure
        (q_bits(0), 0x20, Quality.QUESTIONABLE),  # clock not synchronised
    ],
)
def test_quality_maps_validity_and_time_quality(q, tq, expected) -> None:  # type: ignore[no-untyped-def]
    assert quality_of(q, TimestampData(TS, tq)) is expected


def test_nan_power_is_an_invalid_reading_not_a_crash() -> None:
    r = reading_from_leaves("pv-1", state(math.nan), MEASUREMENTS[:1], {})
    assert r.p_w == 0.0 and r.quality is Quality.INVALID


def test_never_measured_value_is_garbage_not_restamped() -> None:
    with pytest.raises(GarbageValue):
        reading_from_leaves("pv-1", state(t=datetime(1970, 1, 1, tzinfo=UTC)), MEASUREMENTS, {})


def test_wrong_types_are_garbage() -> None:
    s = state()
    s["MMXU1.TotW.mag.f"] = BitStringData(b"\x00", 0)  # type: ignore[assignment]
    with pytest.raises(GarbageValue):
        reading_from_leaves("pv-1", s, MEASUREMENTS, {})
    with pytest.raises(GarbageValue):
        reading_from_leaves("pv-1", {}, MEASUREMENTS, {})


def test_ev_without_a_car_has_no_soc() -> None:
    s = state(-7000.0)
    s["DEEV1.Soc.mag.f"] = FloatData(0.0)
    s["DESE1.ConnSt.stVal"] = IntData(0)
    s["DEEV1.EnAmnt.mag.f"] = FloatData(12000.0)
    r = reading_from_leaves("ev-1", s, MEASUREMENTS, {})
    assert r.connected is False and r.soc is None and r.energy_wh == 12000.0
    s["DESE1.ConnSt.stVal"] = IntData(1)
    s["DEEV1.Soc.mag.f"] = FloatData(55.0)
    r = reading_from_leaves("ev-1", s, MEASUREMENTS, {})
    assert r.connected is True and r.soc == pytest.approx(0.55)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (DerKind.PV, 8000.0),
        (DerKind.EV_CHARGER, -11000.0),
        (DerKind.FLEXIBLE_LOAD, -11000.0),
        (DerKind.BATTERY, 0.0),
        (DerKind.CHP, 0.0),
        (DerKind.HEAT_PUMP, 0.0),
    ],
)
def test_release_target_per_kind(kind: DerKind, expected: float) -> None:
    assert release_target(kind, None, (-11000.0, 8000.0)) == expected
    assert release_target(kind, 250.0, (-11000.0, 8000.0)) == 250.0  # a fixed default wins


@pytest.mark.parametrize(
    ("op_state", "target", "released"),
    [(3, 8000.0, True), (3, 0.0, True), (2, 0.0, True), (2, 8000.0, False), (4, 0.0, False),
     (1, 0.0, False), (None, 0.0, False)],
)  # fmt: skip
def test_already_released(op_state: int | None, target: float, released: bool) -> None:
    assert already_released(op_state, target) is released

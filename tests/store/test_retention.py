"""Raw telemetry bounded, on SQLite and MariaDB: readings older than their horizon are
deleted in batches, never before they are rolled up; the 1- and 15-minute roll-ups stay
(the 15-minute one equals the aggregate of the raw readings it covers); the API serves
an old range from the roll-ups."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.harness.read_models import ReadModels
from vpp.adapters.store import migrate
from vpp.adapters.store import schema as s
from vpp.adapters.store.retention import SqlTelemetryRetention, is_tidb, tidb_ttl_sql
from vpp.adapters.store.rollups import roll_up
from vpp.application.ports import MINUTE, QUARTER, RAW
from vpp.application.queries import Resolution, resolve_range
from vpp.application.retention import RetentionSettings, TelemetryRetention, parse_span
from vpp.domain.errors import InvalidValue
from vpp.domain.telemetry import Reading
from vpp.domain.units import Quality

NOW = datetime(2026, 12, 4, 12, 0, 7, tzinfo=UTC)
OLD = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 3 days back: past the raw horizon
RECENT = NOW - timedelta(minutes=40)
DERS = ("bat-1", "pv-1")


@dataclass
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def _window(start: datetime, minutes: int, step_s: int) -> list[Reading]:
    out = []
    for k in range(minutes * 60 // step_s):
        ts = start + timedelta(seconds=k * step_s + 3)
        for i, der in enumerate(DERS):
            p = 1000.0 * (i + 1) + 37.0 * math.sin(k / 5) + k % 7
            bad = Quality.QUESTIONABLE if (k + i) % 11 == 0 else Quality.GOOD
            out.append(Reading(der, ts, p, bad, q_var=-5.0 * k, soc=k / 1000))
    return out


@pytest.fixture
def models(db_url: str) -> Iterator[ReadModels]:
    migrate.upgrade(db_url)
    m = ReadModels.from_url(db_url)
    yield m
    m.close()


def _count(m: ReadModels, table: object, col: object = None, before: datetime | None = None) -> int:
    q = select(func.count()).select_from(table)  # type: ignore[arg-type]
    if before is not None:
        q = q.where(col < before)  # type: ignore[operator]
    with m.engine.connect() as con:
        return int(con.execute(q).scalar_one())


def _rows(m: ReadModels, table: object) -> list[dict[str, object]]:
    with m.engine.connect() as con:
        return [dict(r._mapping) for r in con.execute(select(table).order_by("der_id", "bucket"))]  # type: ignore[arg-type]


def _expected_quarters(readings: list[Reading]) -> dict[tuple[str, datetime], dict[str, object]]:
    by: dict[tuple[str, datetime], list[Reading]] = {}
    for r in readings:
        q = r.ts.replace(minute=r.ts.minute - r.ts.minute % 15, second=0, microsecond=0)
        by.setdefault((r.der_id, q), []).append(r)
    return {
        key: {
            "n": len(rs),
            "p_w_avg": sum(r.p_w for r in rs) / len(rs),
            "p_w_min": min(r.p_w for r in rs),
            "p_w_max": max(r.p_w for r in rs),
            "q_var_avg": sum(r.q_var or 0.0 for r in rs) / len(rs),
            "soc_last": max(rs, key=lambda r: r.ts).soc,
            "n_bad": sum(r.quality is not Quality.GOOD for r in rs),
        }
        for key, rs in by.items()
    }


def test_old_raw_rows_go_in_batches_and_the_rollups_stay(models: ReadModels) -> None:
    old, recent = _window(OLD, 50, 17), _window(RECENT, 30, 17)  # 3 or 4 a minute
    models.writer.record_readings(old + recent)
    roll_up(models.engine, include_open=True)
    quarters_before = _rows(models, s.telemetry_15m)
    minutes_before = _rows(models, s.telemetry_1m)

    # the 15-minute roll-up equals the aggregate of the raw readings it covers
    expected = _expected_quarters(old + recent)
    assert {(r["der_id"], r["bucket"]) for r in quarters_before} == set(expected)
    for row in quarters_before:
        want = expected[(row["der_id"], row["bucket"])]  # type: ignore[index]
        for k, v in want.items():
            assert row[k] == pytest.approx(v, rel=1e-9, abs=1e-9), (row, k)

    store = SqlTelemetryRetention(models.engine)
    retention = TelemetryRetention(store, FixedClock(NOW), RetentionSettings(batch_rows=7))
    report = retention.run_once()
    assert report.deleted == {RAW: len(old), MINUTE: 0, QUARTER: 0}
    assert not report.raw_by_store  # not TiDB: deleted here
    # 300 rows in batches of 7: 43 batches (the last one short), then one (empty) per roll-up
    assert store.batches == math.ceil(len(old) / 7) + 2
    assert _count(models, s.telemetry) == len(recent)
    assert _count(models, s.telemetry, s.telemetry.c.ts, NOW - timedelta(days=2)) == 0
    assert _rows(models, s.telemetry_1m) == minutes_before
    assert _rows(models, s.telemetry_15m) == quarters_before
    assert store.kept_from() == {
        k: NOW - retention.settings.keep(k) for k in (RAW, MINUTE, QUARTER)
    }

    # a roll-up again (the projector's next one) must not change what is rolled up
    models.writer.record_readings(recent[-2:])
    roll_up(models.engine, include_open=True)
    assert _rows(models, s.telemetry_15m) == quarters_before

    # shorter horizons: the old minutes go, their quarter hours stay
    short = RetentionSettings(raw=timedelta(hours=1), minute=timedelta(hours=2))
    report = TelemetryRetention(store, FixedClock(NOW), short).run_once()
    assert report.deleted[RAW] == 0 and report.deleted[MINUTE] == 2 * 50
    assert _count(models, s.telemetry_1m, s.telemetry_1m.c.bucket, NOW - timedelta(hours=2)) == 0
    assert _rows(models, s.telemetry_15m) == quarters_before


def test_rows_not_rolled_up_yet_are_kept(models: ReadModels) -> None:
    old = _window(OLD, 10, 30)
    models.writer.record_readings(old)  # the projector wrote them; no roll-up ran yet
    store = SqlTelemetryRetention(models.engine)
    report = TelemetryRetention(store, FixedClock(NOW)).run_once()
    assert report.deleted[RAW] == 0 and _count(models, s.telemetry) == len(old)
    assert report.kept_from[RAW] == OLD  # the first minute not rolled up
    roll_up(models.engine, include_open=False)  # the minute still filling stays open
    report = TelemetryRetention(store, FixedClock(NOW)).run_once()
    last_minute = [r for r in old if r.ts >= OLD + timedelta(minutes=9)]
    assert report.deleted[RAW] == len(old) - len(last_minute)
    roll_up(models.engine, include_open=True)
    report = TelemetryRetention(store, FixedClock(NOW)).run_once()
    assert report.deleted[RAW] == len(last_minute) and _count(models, s.telemetry) == 0
    assert _count(models, s.telemetry_15m) == len(DERS)  # 10:00-10:15 of each DER


def test_the_api_reads_an_old_range_from_the_rollups(models: ReadModels) -> None:
    old = _window(OLD, 30, 20)
    models.writer.record_readings(old)
    roll_up(models.engine, include_open=True)
    TelemetryRetention(SqlTelemetryRetention(models.engine), FixedClock(NOW)).run_once()
    kept = models.reads.kept_from()
    start, end = OLD, OLD + timedelta(minutes=30)
    assert resolve_range(start, end, None, NOW, kept_from=kept).resolution is Resolution.MINUTE
    assert resolve_range(start, end, None, NOW).resolution is Resolution.RAW  # nothing pruned
    quarters = models.reads.rollups("bat-1", start, end, 100, level=QUARTER)
    assert [q.bucket for q in quarters] == [OLD, OLD + timedelta(minutes=15)]
    assert sum(q.n for q in quarters) == len(old) // 2
    plant = models.reads.plant_buckets(list(DERS), start, end, 100, level=QUARTER)
    assert [b.n_members for b in plant] == [2, 2]
    pruned = {**kept, MINUTE: NOW - timedelta(days=1)}  # the 1-minute rows gone too
    assert resolve_range(start, end, None, NOW, kept_from=pruned).resolution is Resolution.QUARTER


def test_quarters_not_yet_rolled_up_are_served_from_the_minutes(models: ReadModels) -> None:
    recent = _window(NOW - timedelta(minutes=20), 20, 30)
    models.writer.record_readings(recent)
    roll_up(models.engine, include_open=False)  # the open quarter is not stored yet
    stored = _rows(models, s.telemetry_15m)
    served = models.reads.rollups("pv-1", NOW - timedelta(hours=1), NOW, 100, level=QUARTER)
    assert len(served) == 2 and len([r for r in stored if r["der_id"] == "pv-1"]) == 1


def test_an_upgraded_store_builds_the_quarters_of_its_kept_minutes(db_url: str) -> None:
    migrate.upgrade(db_url, "0006")
    m = ReadModels.from_url(db_url)
    try:
        history = [
            {"der_id": "pv-1", "bucket": OLD + timedelta(minutes=i), "n": 2, "p_w_avg": 10.0 * i,
             "p_w_min": 0.0, "p_w_max": 20.0 * i, "q_var_avg": None, "soc_last": None,
             "n_bad": 0}
            for i in range(20)
        ]  # fmt: skip
        with m.engine.begin() as con:
            con.execute(s.telemetry_1m.insert(), history)
        migrate.upgrade(db_url)
        m.writer.record_readings([Reading("pv-1", NOW, 1.0)])  # telemetry flows again
        roll_up(m.engine, include_open=False)
        quarters = _rows(m, s.telemetry_15m)
        assert [(q["bucket"], q["n"]) for q in quarters] == [
            (OLD, 30),
            (OLD + timedelta(minutes=15), 10),
        ]
        assert quarters[0]["p_w_avg"] == pytest.approx(70.0)  # minutes 0..14, 10 W apart
    finally:
        m.close()


def test_tidb_ttl_only_on_tidb_and_its_clause(models: ReadModels) -> None:
    with models.engine.connect() as con:
        assert not is_tidb(con)  # SQLite and MariaDB: batched deletes, no TTL emitted
    assert not SqlTelemetryRetention(models.engine).expires_raw_itself(timedelta(days=2))
    assert tidb_ttl_sql(timedelta(days=2)) == (
        "ALTER TABLE `telemetry` TTL = `ts` + INTERVAL 2 DAY TTL_ENABLE = 'ON'"
    )
    assert "INTERVAL 36 HOUR" in tidb_ttl_sql(timedelta(hours=36))
    assert "INTERVAL 90 MINUTE" in tidb_ttl_sql(timedelta(minutes=90))


def test_spans_and_settings_are_checked() -> None:
    assert parse_span("2d") == timedelta(days=2) and parse_span("36h") == timedelta(hours=36)
    assert parse_span("1w") == timedelta(days=7) and parse_span("90m") == timedelta(minutes=90)
    for bad in ("2", "2y", "-1d", "0d", ""):
        with pytest.raises(InvalidValue):
            parse_span(bad)
    with pytest.raises(InvalidValue, match="at least as long"):
        RetentionSettings(raw=timedelta(days=40))

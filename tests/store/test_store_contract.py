"""Contract tests of the read-model store: the same assertions on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import and_, select

from tests.harness.read_models import ReadModels
from vpp.adapters.store import migrate
from vpp.adapters.store import schema as s
from vpp.adapters.store.schema import metadata
from vpp.application.ports import (
    DerRecord,
    RegistryImport,
    RollupRow,
    StoreError,
    StreamPosition,
)
from vpp.domain import Der, DerKind, DerRatings, Plant, Quality, Reading, Tenant

T0 = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[ReadModels]:
    migrate.upgrade(db_url)
    st = ReadModels.from_url(db_url)
    yield st
    st.close()


def register(store: ReadModels, **parts: object) -> None:
    store.registry.import_registry(RegistryImport(**parts))  # type: ignore[arg-type]


def stored_rollups(
    store: ReadModels, der_id: str, start: datetime, end: datetime
) -> list[RollupRow]:
    """The roll-up rows as stored (readers add the minutes still open from raw rows)."""
    t = s.telemetry_1m
    q = select(t).where(and_(t.c.der_id == der_id, t.c.bucket >= start, t.c.bucket < end))
    with store.engine.connect() as con:
        return [RollupRow(**r._mapping) for r in con.execute(q.order_by(t.c.bucket))]


def battery(der_id: str = "bat-1") -> Der:
    return Der(
        der_id,
        DerKind.BATTERY,
        DerRatings(-5000, 5000, energy_wh=10000, eff_charge=0.95, eff_discharge=0.95),
        gateway_id="gw-1",
    )


def reading(der_id: str, ts: datetime, p_w: float, **kw: object) -> Reading:
    return Reading(der_id=der_id, ts=ts, p_w=p_w, **kw)  # type: ignore[arg-type]


def test_migration_matches_schema(db_url: str) -> None:
    assert migrate.upgrade(db_url) == migrate.head_revision()
    assert migrate.upgrade(db_url) == migrate.head_revision()  # idempotent
    store = ReadModels.from_url(db_url)
    with store.engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), metadata)
    store.close()
    assert diff == []


def test_registry_round_trip(store: ReadModels) -> None:
    register(
        store,
        tenants=[Tenant("t1", "Tenant one")],
        ders=[
            DerRecord(battery("bat-1"), "sunspec", "127.0.0.1:15020/1"),
            DerRecord(battery("bat-2")),
        ],
    )
    register(store, plants=[Plant("p1", "t1", frozenset({"bat-1", "bat-2"}), "Plant one")])
    ders = store.registry.ders()
    assert ders["bat-1"] == battery("bat-1")
    assert store.registry.plant("p1") == Plant(
        "p1", "t1", frozenset({"bat-1", "bat-2"}), "Plant one"
    )
    register(
        store, plants=[Plant("p1", "t1", frozenset({"bat-2"}), "Plant one")]
    )  # replaces members
    assert store.registry.plant("p1").members == frozenset({"bat-2"})  # type: ignore[union-attr]
    assert [p.plant_id for p in store.registry.plants("t1", after=None, limit=100)] == ["p1"]
    assert store.registry.plants("other", after=None, limit=100) == []
    assert store.registry.plant("nope") is None


def test_readings_are_idempotent_and_keep_microseconds(store: ReadModels) -> None:
    rs = [reading("bat-1", T0 + timedelta(seconds=i), 100.0 * i, soc=0.5) for i in range(10)]
    store.writer.record_readings(rs)
    store.writer.record_readings(rs)  # a replay
    store.writer.record_readings(rs[3:7])
    assert store.reads.count() == 10
    got = store.reads.readings("bat-1", T0, T0 + timedelta(minutes=1), limit=100)
    assert got == rs
    assert got[0].ts.microsecond == 123456 and got[0].ts.tzinfo is not None


def test_latest_state_is_last_write_wins_by_source_time(store: ReadModels) -> None:
    new = reading("bat-1", T0 + timedelta(seconds=5), 500.0, soc=0.6, quality=Quality.GOOD)
    old = reading("bat-1", T0, -200.0, soc=0.4, quality=Quality.QUESTIONABLE)
    store.writer.record_readings([new])
    store.writer.record_readings([old])  # arrives late: must not overwrite
    assert store.registry.latest_readings()["bat-1"] == new
    newer = reading("bat-1", T0 + timedelta(seconds=9), 700.0, soc=0.7)
    store.writer.record_readings([newer, old])
    assert store.registry.latest_readings(["bat-1"])["bat-1"] == newer
    assert store.reads.count() == 3


def test_rollups_count_each_reading_once(store: ReadModels) -> None:
    t = T0.replace(second=0, microsecond=0)
    rs = [reading("pv-1", t + timedelta(seconds=4 * i), float(i), q_var=1.0) for i in range(30)]
    store.writer.record_readings(rs[:10])
    assert store.rollups.roll_up() == 1  # the first minute so far
    store.writer.record_readings(rs[5:])  # overlaps the first batch
    store.writer.record_readings(rs)  # full replay
    assert store.rollups.roll_up() == 2
    assert store.rollups.roll_up() == 0  # nothing new since
    ups = stored_rollups(store, "pv-1", t, t + timedelta(minutes=5))
    assert [u.n for u in ups] == [15, 15]
    assert ups[0].p_w_avg == pytest.approx(sum(range(15)) / 15)
    assert (ups[1].p_w_min, ups[1].p_w_max) == (15.0, 29.0)
    assert ups[0].n_bad == 0
    late = reading("pv-1", t + timedelta(seconds=1), 100.0, quality=Quality.INVALID)
    store.writer.record_readings([late])  # a late reading into a minute already rolled up
    assert store.rollups.roll_up() == 2  # recomputed from that minute on
    first = stored_rollups(store, "pv-1", t, t + timedelta(minutes=1))[0]
    assert (first.n, first.n_bad, first.p_w_max) == (16, 1, 100.0)


def test_open_minute_is_left_to_readers_which_compute_it_from_raw_rows(
    store: ReadModels,
) -> None:
    t = T0.replace(second=0, microsecond=0)
    rs = [
        reading(d, t + timedelta(seconds=4 * i), float(i + k), soc=0.5, q_var=2.0)
        for i in range(40)  # 2 min 40 s: two closed minutes, one still filling
        for k, d in enumerate(("pv-1", "pv-2"))
    ]
    reads = store.reads
    window = (t, t + timedelta(minutes=10))
    store.writer.record_readings(rs)
    assert store.rollups.roll_up(include_open=False) == 4  # two DERs x two closed minutes
    assert store.rollups.roll_up(include_open=False) == 0  # the open minute waits
    assert [u.bucket for u in stored_rollups(store, "pv-1", *window)] == [
        t,
        t + timedelta(minutes=1),
    ]
    live = reads.rollups("pv-1", *window, limit=100)  # what readers see now
    plant = reads.plant_buckets(["pv-1", "pv-2"], *window, limit=100)

    store.rollups.roll_up()  # all minutes, as when the projector stops: nothing a reader sees moves
    assert reads.rollups("pv-1", *window, limit=100) == live
    assert reads.plant_buckets(["pv-1", "pv-2"], *window, limit=100) == plant
    assert [u.n for u in live] == [15, 15, 10]
    assert live[2].p_w_avg == pytest.approx(sum(range(30, 40)) / 10)
    assert [(b.n_members, b.p_w_sum) for b in plant][2] == (
        2,
        pytest.approx(2 * sum(range(30, 40)) / 10 + 1),
    )
    assert len(reads.rollups("pv-1", *window, limit=2)) == 2  # the limit still holds


def test_position_commits_with_rows(store: ReadModels) -> None:
    assert store.writer.position("telemetry") == 0
    store.writer.record_readings(
        [reading("bat-1", T0, 1.0)], StreamPosition("telemetry", "TELEMETRY", 41)
    )
    assert store.writer.position("telemetry") == 41
    bad = reading("bat-1", T0 + timedelta(seconds=1), 2.0)
    object.__setattr__(bad, "p_w", None)  # corrupt after validation: NOT NULL fails
    with pytest.raises(StoreError):  # the backend's error, translated at the store's boundary
        store.writer.record_readings([bad], StreamPosition("telemetry", "TELEMETRY", 42))
    assert store.writer.position("telemetry") == 41  # rolled back together
    assert store.reads.count() == 1


def test_powers_and_energies_keep_double_precision(store: ReadModels) -> None:
    precise = reading("meter-1", T0, 123456.789, energy_wh=9876543210.125, soc=0.123456789)
    store.writer.record_readings([precise])
    assert store.registry.latest_readings()["meter-1"] == precise


def test_ids_are_case_sensitive_even_on_a_case_insensitive_mysql_database(mariadb: object) -> None:
    from sqlalchemy import text

    url = mariadb.create_database("vpp_ci_collation")  # type: ignore[attr-defined]
    with mariadb.connect() as con, con.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(
            "ALTER DATABASE vpp_ci_collation CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
    migrate.upgrade(url)
    st = ReadModels.from_url(url)
    try:
        register(st, tenants=[Tenant("t1")])
        register(st, plants=[Plant("plant-a", "t1", frozenset({"x"}))])
        register(st, plants=[Plant("PLANT-A", "t1", frozenset({"y"}))])
        assert st.registry.plant("plant-a").members == frozenset({"x"})  # type: ignore[union-attr]
        assert st.registry.plant("PLANT-A").members == frozenset({"y"})  # type: ignore[union-attr]
        with st.engine.connect() as con:
            assert con.execute(text("select count(*) from plants")).scalar_one() == 2
    finally:
        st.close()
        mariadb.drop_database("vpp_ci_collation")  # type: ignore[attr-defined]


def test_dispatcher_registry_cache_sees_every_change(db_url: str) -> None:
    migrate.upgrade(db_url)
    writer = ReadModels.from_url(db_url)
    st = writer.dispatcher_store()
    try:
        register(writer, ders=[DerRecord(battery("bat-1"))])
        assert st.ders(["bat-1"])["bat-1"].ratings.p_max_w == 5000
        bigger = Der("bat-1", DerKind.BATTERY, DerRatings(-8000, 8000, energy_wh=10000), "gw-1")
        register(writer, ders=[DerRecord(bigger)])  # re-registered with new ratings
        assert st.ders(["bat-1"])["bat-1"].ratings.p_max_w == 8000
        register(writer, ders=[DerRecord(battery("bat-2"))])  # a new DER
        assert set(st.ders(["bat-1", "bat-2", "nope"])) == {"bat-1", "bat-2"}
    finally:
        writer.close()

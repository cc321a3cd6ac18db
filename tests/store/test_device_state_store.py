"""The store's side of device state and health, on SQLite and MariaDB: readings keep
``temp_c`` and ``deadline``; the gateway's health statements set ``ders.healthy`` with
the newest statement winning (replays, late and out-of-order deliveries never undo a
newer one); the dispatcher's port answers which DERs are unhealthy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness.read_models import ReadModels
from vpp.adapters.store import migrate
from vpp.application.ports import DerRecord, RegistryImport, StreamPosition
from vpp.domain import Der, DerKind, DerRatings, DeviceHealth, Reading

T0 = datetime(2026, 12, 4, 1, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[ReadModels]:
    migrate.upgrade(db_url)
    st = ReadModels.from_url(db_url)
    loads = [f"hp-{i}" for i in range(3)]
    st.registry.import_registry(
        RegistryImport(
            ders=[
                DerRecord(Der(d, DerKind.HEAT_PUMP, DerRatings(-3000.0, 0.0), gateway_id="gw-1"))
                for d in loads
            ]
        )
    )
    yield st
    st.close()


def health(store: ReadModels) -> dict[str, tuple[bool, str, datetime | None]]:
    recs = store.registry.der_records([f"hp-{i}" for i in range(3)])
    return {d: (r.healthy, r.health_reason, r.health_ts) for d, r in recs.items()}


def test_readings_keep_temperature_and_deadline(store: ReadModels) -> None:
    deadline = T0 + timedelta(hours=18, microseconds=7)
    r = Reading("hp-0", T0, -1500.0, soc=0.4, temp_c=49.25, energy_wh=800.0, deadline=deadline)
    store.writer.record_readings([r])
    latest = store.registry.latest_readings(["hp-0"])["hp-0"]
    assert latest == r
    assert store.reads.readings("hp-0", T0, T0 + timedelta(seconds=1), 10) == [r]


def test_newest_health_statement_wins_and_unhealthy_names_the_ders(store: ReadModels) -> None:
    ds = store.dispatcher_store()
    ids = [f"hp-{i}" for i in range(3)]
    before = health(store)
    assert all(h == (True, "", None) for h in before.values()), before  # never stated
    assert ds.unhealthy(ids) == frozenset()

    pos = StreamPosition("telemetry", "TELEMETRY", 1)
    down = DeviceHealth("hp-1", T0, False, "hp-1: read 40000+2: timeout")
    changes = store.writer.record_reading_rows([], pos, health=[down])
    assert health(store)["hp-1"] == (False, down.reason, T0)
    assert [c["table"] for c in changes] == ["ders"]
    assert ds.unhealthy(ids) == {"hp-1"}
    assert ds.unhealthy(["hp-0", "hp-2", "not-registered"]) == frozenset()
    assert store.writer.position("telemetry") == 1

    # an older statement arriving late (a replay, a buffered batch) changes nothing
    store.writer.record_reading_rows([], health=[DeviceHealth("hp-1", T0 - timedelta(1), True)])
    assert health(store)["hp-1"][0] is False
    # the same statement again: idempotent
    store.writer.record_reading_rows([], health=[down])
    assert health(store)["hp-1"] == (False, down.reason, T0)

    # within one batch the newest per DER wins, whatever its order
    up = DeviceHealth("hp-1", T0 + timedelta(seconds=3), True)
    other = DeviceHealth("hp-2", T0 + timedelta(seconds=1), False, "garbage from device")
    store.writer.record_reading_rows([], health=[up, other, down])
    assert health(store)["hp-1"] == (True, "", up.ts)
    assert health(store)["hp-2"] == (False, "garbage from device", other.ts)
    assert ds.unhealthy(ids) == {"hp-2"}

    # a statement about an unregistered DER touches nothing (the projector refuses it
    # earlier anyway)
    store.writer.record_reading_rows([], health=[DeviceHealth("ghost", T0, False)])
    assert ds.unhealthy([*ids, "ghost"]) == {"hp-2"}


def test_a_long_health_reason_is_cut_to_the_column(store: ReadModels) -> None:
    h = DeviceHealth("hp-0", T0, False, "x" * 2000)
    assert len(h.reason) == 500
    store.writer.record_reading_rows([], health=[h])
    assert health(store)["hp-0"][1] == h.reason

"""The dispatcher tests' world: a registered plant on a real store (both backends), a real
nats-server, and the test playing the devices (it reads the commands from JetStream and
writes the readings and acks the devices would report)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from tests.harness.signing import CommandKeys
from vpp.adapters.crypto import Ed25519CommandVerifier, load_trusted_keys
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.store import migrate
from vpp.adapters.store.dispatch_store import SqlDispatchStore
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.application.ports import DerRecord, DispatchRecord, IntervalRecord, RegistryImport
from vpp.domain import Der, DerKind, DerRatings, Plant, Reading, Tenant

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BATS = [
    Der(f"bat-{i}", DerKind.BATTERY, DerRatings(-5000, 5000, energy_wh=20000), "gw-1")
    for i in range(3)
]
PV = Der("pv-1", DerKind.PV, DerRatings(0, 8000), "gw-1")


@pytest.fixture
def store(db_url: str) -> Iterator[SqlDispatcherStore]:
    migrate.upgrade(db_url)
    st = SqlDispatcherStore(make_engine(db_url))
    st.registry.import_registry(
        RegistryImport(
            tenants=[Tenant("t1")],
            ders=[DerRecord(d, "sunspec", None) for d in [*BATS, PV]],
            plants=[Plant("plant-1", "t1", frozenset(d.der_id for d in [*BATS, PV]))],
        )
    )
    yield st
    st.engine.dispose()


@pytest.fixture
async def js(nats_server_factory: object) -> AsyncIterator[object]:
    server = nats_server_factory()  # type: ignore[operator]
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    yield js
    await nc.close()


def devices_report(store: SqlDispatcherStore, ts: datetime, p: dict[str, float]) -> None:
    SqlProjectionWriter(store.engine).record_readings(
        [
            Reading(d, ts, w, soc=0.5) if d.startswith("bat") else Reading(d, ts, w, p_avail_w=6000)
            for d, w in p.items()
        ]
    )


def insert_dispatch(
    db_url: str,
    dispatch_id: str,
    mode: str,
    intervals: list[tuple[datetime, float, float]],
    plant_id: str = "plant-1",
) -> None:
    engine = make_engine(db_url)
    SqlDispatchStore(engine).insert(
        DispatchRecord(
            dispatch_id,
            "t1",
            plant_id,
            mode,
            "accepted",
            None,
            "h" * 64,
            intervals[0][0],
            intervals[-1][0] + timedelta(seconds=intervals[-1][1]),
            T0,
            T0,
        ),
        [IntervalRecord(i, s, dur, p) for i, (s, dur, p) in enumerate(intervals)],
    )
    engine.dispose()


async def sent_commands(
    js: object, n_max: int = 100, keys: CommandKeys | None = None
) -> list[dict[str, object]]:
    """The commands in the stream; each one's signature verified if ``keys`` are given."""
    sub = await js.pull_subscribe(  # type: ignore[attr-defined]
        "vpp.command.>", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    try:
        msgs = await sub.fetch(n_max, timeout=1.0)
    except Exception:
        return []
    finally:
        await sub.unsubscribe()
    if keys is not None:
        verifier = Ed25519CommandVerifier(load_trusted_keys(keys.trusted_file))
        for m in msgs:
            assert verifier.verify(m.subject, m.data, m.headers) == keys.signer.key_id
    return [json.loads(m.data) for m in msgs]


def row(store: SqlDispatcherStore, dispatch_id: str) -> tuple[str, str, float]:
    from sqlalchemy import text

    with store.engine.connect() as con:
        r = con.execute(
            text("select status, detail, shortfall_w from dispatches where dispatch_id = :d"),
            {"d": dispatch_id},
        ).one()
    return r.status, r.detail or "", r.shortfall_w


class FollowingDevices:
    """Devices that take every setpoint at once and hold it until it lapses (then they
    fall back to 0 W, as a gateway returns a device to its default): the test reads the
    commands from JetStream and reports the readings they would."""

    def __init__(self, store: SqlDispatcherStore, js: object, pv_avail_w: float = 6000.0) -> None:
        self.store, self.js, self.pv_avail_w = store, js, pv_avail_w
        self.seen = 0
        self.setpoints: dict[str, tuple[float, datetime]] = {}  # der -> (p, valid until)
        self.commands: list[dict[str, object]] = []  # every command taken, in stream order

    async def take_commands(self) -> list[dict[str, object]]:
        cmds = (await sent_commands(self.js, n_max=10_000))[self.seen :]
        self.seen += len(cmds)
        self.commands += cmds
        for c in cmds:
            until = datetime.fromisoformat(str(c["valid_until"]))
            self.setpoints[str(c["der_id"])] = (float(c["p_w"]), until)  # type: ignore[arg-type]
        return cmds

    def power(self, der_id: str, ts: datetime) -> float:
        p, until = self.setpoints.get(der_id, (0.0, ts))
        return p if ts < until else 0.0

    def report(self, ts: datetime, ders: list[str], stuck: dict[str, float] | None = None) -> float:
        """Report every device's power at ``ts``; returns the plant's total."""
        p = {d: self.power(d, ts) for d in ders} | (stuck or {})
        devices_report(self.store, ts, p)
        return sum(p.values())


PLANT = [*(d.der_id for d in BATS), PV.der_id]

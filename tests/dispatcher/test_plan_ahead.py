"""The dispatcher plans ahead: what must happen before or during an interval for the plant to
hold it — a flexible load that must run by its deadline — is commanded from the plan, not
found out too late.  Real store (both backends), real NATS."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness.dispatching import T0, insert_dispatch, row, sent_commands
from tests.harness.signing import CommandKeys
from vpp.adapters.nats.command_sender import NatsCommandSender
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.application.dispatcher import Dispatcher, DispatcherSettings
from vpp.application.ports import DerRecord, RegistryImport
from vpp.domain import Der, DerKind, DerRatings, Plant, Reading

BAT = Der("bat-9", DerKind.BATTERY, DerRatings(-5000, 5000, energy_wh=20000), "gw-1")
LOAD = Der("load-9", DerKind.FLEXIBLE_LOAD, DerRatings(-6000, 0, energy_wh=6000), "gw-1")


def register(store: SqlDispatcherStore, plant_id: str, ders: list[Der]) -> None:
    store.registry.import_registry(
        RegistryImport(
            tenants=[],
            ders=[DerRecord(d, "sunspec", None) for d in ders],
            plants=[Plant(plant_id, "t1", frozenset(d.der_id for d in ders))],
        )
    )


def plant_dispatch(
    db_url: str, plant_id: str, dispatch_id: str, start_s: float, dur_s: float, p_w: float
) -> None:
    insert_dispatch(
        db_url,
        dispatch_id,
        "absolute",
        [(T0 + timedelta(seconds=start_s), dur_s, p_w)],
        plant_id=plant_id,
    )


async def test_a_load_due_before_the_interval_runs_ahead_of_it(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    """The plant is to hold 0 kW from T0+300 s; the load must take 450 Wh by then: the plan
    runs it before the interval (the battery making up), so the interval is not spoilt."""
    register(store, "plant-ahead", [BAT, LOAD])
    SqlProjectionWriter(store.engine).record_readings(
        [
            Reading("bat-9", T0, 0.0, soc=0.5),
            Reading(
                "load-9", T0, 0.0, soc=0.5, energy_wh=450.0, deadline=T0 + timedelta(seconds=300)
            ),
        ]
    )
    plant_dispatch(db_url, "plant-ahead", "d-ahead", 300.0, 300.0, 0.0)
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    cmds = {str(c["der_id"]): float(c["p_w"]) for c in await sent_commands(js)}  # type: ignore[arg-type]
    assert cmds["load-9"] <= -5000.0  # 450 Wh in the 5 min before: -5.4 kW
    assert cmds["bat-9"] >= 4000.0  # the battery makes up for most of it
    status, detail, _ = row(store, "d-ahead")
    assert status == "planned" and "preparing interval 0:" in detail and "load-9" in detail


async def test_without_planning_ahead_nothing_moves_before_the_interval(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    register(store, "plant-ahead", [BAT, LOAD])
    SqlProjectionWriter(store.engine).record_readings(
        [
            Reading("bat-9", T0, 0.0, soc=0.5),
            Reading(
                "load-9", T0, 0.0, soc=0.5, energy_wh=450.0, deadline=T0 + timedelta(seconds=300)
            ),
        ]
    )
    plant_dispatch(db_url, "plant-ahead", "d-ahead0", 300.0, 300.0, 0.0)
    settings = DispatcherSettings(plan_ahead=False)
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer), settings)  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    assert await sent_commands(js) == []


async def test_a_flexible_load_runs_by_its_deadline_while_the_plant_holds_its_target(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    """The plant holds 0 kW for 10 min; the load must take 1.5 kWh within 20 min, of which it
    can take at most 1 kWh after the dispatch: the plan runs it during the dispatch and the
    battery makes up for it (merit order alone would leave both at 0 W)."""
    register(store, "plant-load", [BAT, LOAD])
    deadline = T0 + timedelta(seconds=1200)
    SqlProjectionWriter(store.engine).record_readings(
        [
            Reading("bat-9", T0, 0.0, soc=0.5),
            Reading("load-9", T0, 0.0, soc=0.5, energy_wh=1500.0, deadline=deadline),
        ]
    )
    plant_dispatch(db_url, "plant-load", "d-load", 0.0, 600.0, 0.0)
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    cmds = {str(c["der_id"]): float(c["p_w"]) for c in await sent_commands(js)}  # type: ignore[arg-type]
    assert cmds["load-9"] <= -2000.0  # >= 0.5 kWh over the 10 min: about -3 kW
    assert cmds["load-9"] + cmds["bat-9"] == pytest.approx(0.0, abs=50.0)
    assert "horizon plan optimal" in row(store, "d-load")[1]

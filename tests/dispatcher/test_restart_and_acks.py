"""A restarted dispatcher continues or settles from what was saved; acks and health count at
once.  Real store (both backends), real nats-server; the test plays the devices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.harness.dispatching import (
    PLANT,
    T0,
    FollowingDevices,
    insert_dispatch,
    row,
)
from tests.harness.signing import CommandKeys
from vpp.adapters.nats.command_sender import NatsCommandSender
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.adapters.store.projection_writer import SqlProjectionWriter
from vpp.application.dispatcher import Dispatcher, DispatcherSettings
from vpp.domain.commands import AckOutcome, CommandAck


def delivered_wh(store: SqlDispatcherStore, dispatch_id: str) -> float:
    with store.engine.connect() as con:
        q = "select sum(energy_wh_delivered) from dispatch_intervals where dispatch_id = :d"
        return float(con.execute(text(q), {"d": dispatch_id}).scalar_one())


async def run(
    disp: Dispatcher, devices: FollowingDevices, seconds: range, truth: list[float]
) -> None:
    """Cycles at ``seconds`` (from T0); the devices report every second in between."""
    for s in seconds:
        await disp.cycle(T0 + timedelta(seconds=s))
        await devices.take_commands()
        for k in range(1, 5):
            truth.append(devices.report(T0 + timedelta(seconds=s + k - 0.5), PLANT))


async def test_a_restart_mid_dispatch_continues_and_counts_the_gap(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices = FollowingDevices(store, js)
    devices.report(T0, PLANT)
    insert_dispatch(db_url, "d-mid", "absolute", [(T0, 120.0, 12000.0)])
    sender = NatsCommandSender(js, command_keys.signer)  # type: ignore[arg-type]
    truth: list[float] = []
    first = Dispatcher(store, sender, DispatcherSettings())
    await run(first, devices, range(1, 42, 4), truth)
    sent_before = devices.seen
    # the dispatcher dies; the devices hold their setpoints (valid 20 s) while they last
    for k in range(46, 62):
        truth.append(devices.report(T0 + timedelta(seconds=k - 0.5), PLANT))
    second = Dispatcher(store, sender, DispatcherSettings())  # nothing in memory
    await second.cycle(T0 + timedelta(seconds=61))
    assert "dispatcher away for 20 s" in row(store, "d-mid")[1]
    fresh = await devices.take_commands()
    assert len(fresh) < len(PLANT) or all(  # what was sent is known: only refreshes
        abs(devices.setpoints[str(c["der_id"])][0] - float(c["p_w"])) < 100  # type: ignore[arg-type]
        for c in fresh
    )
    for k in range(2, 5):
        truth.append(devices.report(T0 + timedelta(seconds=61 + k - 0.5), PLANT))
    await run(second, devices, range(65, 122, 4), truth)
    assert devices.seen > sent_before
    status, detail, _ = row(store, "d-mid")
    assert status == "completed", detail
    # every second of the plant's power, the 20 s away included: within 2 % of the truth
    # (without the recovery the gap alone is 1/6 of the energy)
    assert len(truth) >= 120  # one reading a second, from 1.5 s on
    assert delivered_wh(store, "d-mid") == pytest.approx(sum(truth[:119]) / 3600, rel=0.02)


@pytest.mark.parametrize(("ttl_s", "verdict"), [(60.0, "completed"), (20.0, "failed")])
async def test_a_restart_after_the_end_settles_on_what_was_delivered(
    command_keys: CommandKeys,
    store: SqlDispatcherStore,
    js: object,
    db_url: str,
    ttl_s: float,
    verdict: str,
) -> None:
    """Long commands hold to the end: completed.  Short ones lapse while the dispatcher is
    away and the devices fall back: failed, with the energy they really delivered."""
    devices = FollowingDevices(store, js)
    devices.report(T0, PLANT)
    insert_dispatch(db_url, "d-end", "absolute", [(T0, 60.0, 12000.0)])
    sender = NatsCommandSender(js, command_keys.signer)  # type: ignore[arg-type]
    settings = DispatcherSettings(command_ttl_s=ttl_s)
    truth: list[float] = []
    await run(Dispatcher(store, sender, settings), devices, range(1, 30, 4), truth)
    for k in range(34, 91):  # nobody there until well after the end
        truth.append(devices.report(T0 + timedelta(seconds=k - 0.5), PLANT))
    await Dispatcher(store, sender, settings).cycle(T0 + timedelta(seconds=91))
    status, detail, _ = row(store, "d-end")
    assert status == verdict, detail
    assert "no member" not in detail and "dispatcher away" in detail
    assert delivered_wh(store, "d-end") == pytest.approx(sum(truth[:59]) / 3600, rel=0.02)


async def test_a_refused_setpoint_is_reallocated_in_the_next_cycle(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices = FollowingDevices(store, js)
    devices.report(T0, PLANT)
    insert_dispatch(db_url, "d-ack", "absolute", [(T0, 120.0, -9000.0)])
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    cmds = {str(c["der_id"]): c for c in await devices.take_commands()}
    victim = "bat-0"
    assert float(cmds[victim]["p_w"]) < 0  # type: ignore[arg-type]
    c = cmds[victim]
    ack = CommandAck(
        str(c["command_id"]),
        victim,
        "gw-1",
        int(c["seq"]),  # type: ignore[call-overload]
        AckOutcome.REJECTED,
        T0 + timedelta(seconds=1.2),
        float(c["p_w"]),  # type: ignore[arg-type]
        reason="device in local mode",
        dispatch_id="d-ack",
    )
    SqlProjectionWriter(store.engine).record_acks([ack])
    devices.report(T0 + timedelta(seconds=2), PLANT, stuck={victim: 0.0})
    await disp.cycle(T0 + timedelta(seconds=3))  # 2 s later: long before follow_s
    again = {str(c["der_id"]): float(c["p_w"]) for c in await devices.take_commands()}  # type: ignore[arg-type]
    assert victim not in again
    others = {d: devices.setpoints[d][0] for d in PLANT if d != victim}
    assert sum(others.values()) == pytest.approx(-9000.0, abs=10)
    assert "setpoint refused by the gateway: bat-0" in row(store, "d-ack")[1]


async def test_a_clamped_setpoint_narrows_the_member_and_an_unhealthy_one_is_left_out(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices = FollowingDevices(store, js)
    devices.report(T0, PLANT)
    insert_dispatch(db_url, "d-clamp", "absolute", [(T0, 120.0, 14000.0)])
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    cmds = {str(c["der_id"]): c for c in await devices.take_commands()}
    c = cmds["bat-1"]
    ack = CommandAck(
        str(c["command_id"]),
        "bat-1",
        "gw-1",
        int(c["seq"]),  # type: ignore[call-overload]
        AckOutcome.APPLIED,
        T0 + timedelta(seconds=1.2),
        float(c["p_w"]),  # type: ignore[arg-type]
        p_w_applied=1000.0,
        clamped=True,
        dispatch_id="d-clamp",
    )
    SqlProjectionWriter(store.engine).record_acks([ack])
    devices.report(T0 + timedelta(seconds=2), PLANT, stuck={"bat-1": 1000.0})
    await disp.cycle(T0 + timedelta(seconds=3))
    await devices.take_commands()
    assert devices.setpoints["bat-1"][0] <= 1000.0
    assert "setpoint clamped by the gateway: bat-1" in row(store, "d-clamp")[1]
    # bat-2's gateway marks it unhealthy: it is left out of the next allocation
    with store.engine.begin() as con:
        con.execute(text("update ders set healthy = :f where der_id = 'bat-2'"), {"f": False})
    devices.report(T0 + timedelta(seconds=6), PLANT)
    await disp.cycle(T0 + timedelta(seconds=7))
    await devices.take_commands()
    assert "dropped out: bat-2" in row(store, "d-clamp")[1]
    active = {d: devices.setpoints[d][0] for d in ("bat-0", "bat-1", "pv-1")}
    assert sum(active.values()) == pytest.approx(14000.0 - devices.power("bat-2", T0), abs=10)

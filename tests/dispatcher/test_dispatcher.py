"""The dispatcher against a real store (both backends) and a real nats-server.

Devices are played by the test: it reads the commands from JetStream and writes the
readings the devices would report, so every step of the loop is observable.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from tests.harness.dispatching import T0, devices_report, insert_dispatch, row, sent_commands
from tests.harness.signing import CommandKeys
from vpp.adapters.nats.command_sender import NatsCommandSender
from vpp.adapters.store.dispatch_store import SqlDispatchStore
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.application.dispatcher import Dispatcher, DispatcherSettings


async def test_absolute_dispatch_is_planned_followed_and_completed(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices_report(store, T0, {"bat-0": 0, "bat-1": 0, "bat-2": 0, "pv-1": 6000})
    insert_dispatch(db_url, "d-abs", "absolute", [(T0, 60.0, 15000.0)])
    sender = NatsCommandSender(js, command_keys.signer)  # type: ignore[arg-type]
    disp = Dispatcher(store, sender, DispatcherSettings(cycle_s=4.0, retry_pinned_s=120.0))

    await disp.cycle(T0 + timedelta(seconds=1))
    cmds = await sent_commands(js, keys=command_keys)  # every one signed by the dispatcher
    assert sum(c["p_w"] for c in cmds) == pytest.approx(15000.0)  # type: ignore[misc]
    assert {c["der_id"] for c in cmds} <= {"bat-0", "bat-1", "bat-2", "pv-1"}
    for c in cmds:
        until = datetime.fromisoformat(str(c["valid_until"]))
        assert until <= T0 + timedelta(seconds=60)  # never beyond the interval
    assert row(store, "d-abs")[0] == "active"

    sent = {str(c["der_id"]): float(c["p_w"]) for c in cmds}  # type: ignore[arg-type]
    assert sent.get("pv-1") == 6000.0  # free PV first, at what it has available
    # 2 s on (within follow_s), the devices are on their way: no new commands, no over-reaction
    devices_report(store, T0 + timedelta(seconds=3), {d: p / 2 for d, p in sent.items()})
    await disp.cycle(T0 + timedelta(seconds=3.2))
    assert (await sent_commands(js))[len(cmds) :] == []
    # 8 s on, the battery with the largest setpoint is stuck at 0 W while the others reached
    # their setpoints: it is sent its setpoint again (a command may be lost) ...
    victim = max((d for d in sent if d.startswith("bat")), key=lambda d: abs(sent[d]))
    assert abs(sent[victim]) > 1000
    stuck = {d: (0.0 if d == victim else p) for d, p in sent.items()}
    devices_report(store, T0 + timedelta(seconds=8), stuck)
    await disp.cycle(T0 + timedelta(seconds=9))
    resent = (await sent_commands(js))[len(cmds) :]
    assert {str(c["der_id"]): c["p_w"] for c in resent} == {victim: sent[victim]}
    cmds = [*cmds, *resent]
    # ... and still stuck after that, it is held at what it measures and the others take
    # over its share
    devices_report(store, T0 + timedelta(seconds=12), stuck)
    await disp.cycle(T0 + timedelta(seconds=13))
    cmds2 = (await sent_commands(js))[len(cmds) :]
    assert victim not in {c["der_id"] for c in cmds2}
    latest = {**sent, **{str(c["der_id"]): float(c["p_w"]) for c in cmds2}}  # type: ignore[arg-type]
    assert sum(p for d, p in latest.items() if d != victim) == pytest.approx(
        15000.0, abs=1.0
    )  # + the correction term
    assert f"held at measured power for now: {victim}" in row(store, "d-abs")[1]
    for s in range(17, 62, 4):  # the others follow; the victim stays stuck and held
        devices_report(store, T0 + timedelta(seconds=s - 1), {**latest, victim: 0.0})
        await disp.cycle(T0 + timedelta(seconds=s))
    later = (await sent_commands(js, n_max=1000))[len(cmds) + len(cmds2) :]
    assert later and victim not in {c["der_id"] for c in later}  # refreshed, never the victim
    status, detail, _ = row(store, "d-abs")
    assert status == "completed" and "delivered" in detail and "not delivered" not in detail
    assert "100% of samples within the band" in detail


async def test_a_plant_that_does_not_follow_ends_failed_not_completed(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices_report(store, T0, {"bat-0": 0, "bat-1": 0, "bat-2": 0, "pv-1": 6000})
    insert_dispatch(db_url, "d-miss", "absolute", [(T0, 60.0, 15000.0)])
    sender = NatsCommandSender(js, command_keys.signer)  # type: ignore[arg-type]
    disp = Dispatcher(store, sender, DispatcherSettings(cycle_s=4.0))
    for s in range(1, 62, 4):  # every device ignores its setpoint: the plant stays at 6 kW
        devices_report(store, T0 + timedelta(seconds=s - 1), {"bat-0": 0, "bat-1": 0, "pv-1": 6000})
        await disp.cycle(T0 + timedelta(seconds=s))
    status, detail, _ = row(store, "d-miss")
    assert status == "failed", detail
    assert "not delivered" in detail and "of 0.250 kWh" in detail


async def test_held_members_are_tried_again_and_lapsed_commands_resent(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices_report(store, T0, {"bat-0": 0, "bat-1": 0, "bat-2": 0, "pv-1": 0})
    insert_dispatch(db_url, "d-retry", "absolute", [(T0, 600.0, 9000.0)])
    settings = DispatcherSettings(cycle_s=4.0, retry_pinned_s=30.0, command_ttl_s=20.0)
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer), settings)  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    first = {str(c["der_id"]): float(c["p_w"]) for c in await sent_commands(js)}  # type: ignore[arg-type]
    assert first
    # nobody moves: after follow_s every commanded member is sent its setpoint again, and
    # still not moving after that it is held at what it measures
    devices_report(store, T0 + timedelta(seconds=8), dict.fromkeys(first, 0.0))
    await disp.cycle(T0 + timedelta(seconds=9))
    assert "held" not in row(store, "d-retry")[1]
    devices_report(store, T0 + timedelta(seconds=12), dict.fromkeys(first, 0.0))
    await disp.cycle(T0 + timedelta(seconds=13))
    assert "held at measured power for now" in row(store, "d-retry")[1]
    n_before = len(await sent_commands(js, 1000))
    # 30 s later they are tried again with fresh setpoints
    devices_report(store, T0 + timedelta(seconds=43), dict.fromkeys(first, 0.0))
    await disp.cycle(T0 + timedelta(seconds=44))
    retried = (await sent_commands(js, 1000))[n_before:]
    assert {c["der_id"] for c in retried} == set(first)
    assert "held" not in row(store, "d-retry")[1]
    # the dispatcher is away for 30 s: its commands lapse, the devices fall back; back, it
    # sends them again instead of holding the members against them
    n_before = len(await sent_commands(js, 1000))
    devices_report(store, T0 + timedelta(seconds=73), dict.fromkeys(first, 0.0))
    await disp.cycle(T0 + timedelta(seconds=74))
    resent = (await sent_commands(js, 1000))[n_before:]
    assert {c["der_id"] for c in resent} == set(first)
    assert "held" not in row(store, "d-retry")[1]
    per_der: dict[str, list[int]] = {}
    for c in await sent_commands(js, 1000):
        per_der.setdefault(str(c["der_id"]), []).append(int(c["seq"]))  # type: ignore[call-overload]
    assert all(a < b for seqs in per_der.values() for a, b in itertools.pairwise(seqs))


async def test_relative_dispatch_uses_the_measured_baseline(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices_report(store, T0, {"bat-0": 1000, "bat-1": 0, "bat-2": 0, "pv-1": 5000})
    insert_dispatch(db_url, "d-rel", "relative", [(T0, 60.0, -4000.0)])
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    from sqlalchemy import text

    with store.engine.connect() as con:
        baseline = con.execute(text("select baseline_w from dispatches")).scalar_one()
        target = con.execute(text("select p_w_target from dispatch_intervals")).scalar_one()
    assert baseline == 6000.0 and target == 2000.0
    assert sum(c["p_w"] for c in await sent_commands(js)) == pytest.approx(2000.0)  # type: ignore[misc]


async def test_unreachable_target_states_the_shortfall_and_cancel_stops_commands(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    devices_report(store, T0, {"bat-0": 0, "bat-1": 0, "bat-2": 0, "pv-1": 6000})
    insert_dispatch(db_url, "d-big", "absolute", [(T0, 120.0, 50000.0)])
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    status, detail, shortfall = row(store, "d-big")
    assert status == "active"
    assert shortfall == pytest.approx(50000.0 - 21000.0)
    assert "misses the target by 29.000 kW" in detail
    n = len(await sent_commands(js))
    SqlDispatchStore(store.engine).cancel("d-big", T0 + timedelta(seconds=2))
    await disp.cycle(T0 + timedelta(seconds=5))
    assert len(await sent_commands(js)) == n  # nothing after the cancellation
    assert row(store, "d-big")[0] == "cancelled"


async def test_a_plant_without_fresh_readings_fails_cleanly(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: object, db_url: str
) -> None:
    insert_dispatch(db_url, "d-dark", "absolute", [(T0, 30.0, 1000.0)])
    disp = Dispatcher(store, NatsCommandSender(js, command_keys.signer))  # type: ignore[arg-type]
    await disp.cycle(T0 + timedelta(seconds=1))
    assert await sent_commands(js) == []
    await disp.cycle(T0 + timedelta(seconds=31))
    status, detail, _ = row(store, "d-dark")
    assert status == "failed" and "no member of the plant was available" in detail

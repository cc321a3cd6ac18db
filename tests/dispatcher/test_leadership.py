"""The dispatchers' election on a real nats-server with the secure setup: two dispatcher
identities compete for the lease in the ``LEASES`` bucket (created by ``ops``), exactly
one leads, a lapsed lease is taken over with a higher epoch and the deposed leader knows
it before it sends; a clean stop hands over at once.  The dispatcher identity may touch
its lease key and nothing else of the bucket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js.errors import KeyNotFoundError

from tests.harness.dispatching import PLANT, FollowingDevices, insert_dispatch
from tests.harness.nats_clients import client_as
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.nats.command_sender import NatsCommandSender
from vpp.adapters.nats.lease import NatsLeaseStore, ensure_lease_bucket
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.application.dispatcher import Dispatcher, DispatcherSettings
from vpp.application.dispatcher.leadership import LeaderElection, NotLeading
from vpp.bootstrap.secure_nats import SecureNats, start_secure_nats

TTL_S = 2.0


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureNats]:
    nats_ = start_secure_nats(tmp_path_factory.mktemp("secure"), ())
    try:
        yield nats_
    finally:
        nats_.stop()


async def _fresh_lease(secure: SecureNats) -> None:
    """The lease key gone (as ops), so each test elects from nothing."""
    async with client_as(secure, "ops") as (nc, _):
        await nc.jetstream().purge_stream(
            subjects.kv_stream(subjects.LEASES_BUCKET),
            subject=subjects.kv_key(subjects.LEASES_BUCKET, subjects.DISPATCHER_LEASE),
        )


async def test_one_leads_a_lapsed_lease_is_taken_over_with_a_higher_epoch(
    secure: SecureNats,
) -> None:
    await _fresh_lease(secure)
    async with (
        client_as(secure, "dispatcher") as (nc_a, refused_a),
        client_as(secure, "dispatcher") as (nc_b, refused_b),
    ):
        # the bucket exists (ops made it): the dispatcher only opens it
        a = LeaderElection(
            NatsLeaseStore(await ensure_lease_bucket(nc_a.jetstream())), "disp-a", TTL_S
        )
        b = LeaderElection(
            NatsLeaseStore(await ensure_lease_bucket(nc_b.jetstream())), "disp-b", TTL_S
        )
        await asyncio.gather(a.step(), b.step())
        assert [a.holds(), b.holds()].count(True) == 1
        leader, follower = (a, b) if a.holds() else (b, a)
        first = leader.epoch
        assert first >= int(time.time()) - 5  # at least the Unix time of the takeover
        assert await leader.confirm()
        # the follower renews nothing and waits while the leader renews
        for _ in range(int(2 * TTL_S / leader.poll_s)):
            await asyncio.gather(leader.step(), follower.step())
            assert leader.holds() and not follower.holds()
            await asyncio.sleep(leader.poll_s)
        assert follower.leader == leader.instance and follower.leader_alive()
        # the leader stops renewing (a dead process): the follower takes over
        t0 = time.monotonic()

        async def took_over() -> bool:
            await follower.step()
            return follower.holds()

        await async_wait_until(took_over, TTL_S + 2, step_s=follower.poll_s)
        took = time.monotonic() - t0
        assert TTL_S - 0.5 <= took <= TTL_S + 1.0, took
        assert follower.epoch > first
        # the old leader's own clock has run out too, and the lease says so
        assert not leader.holds()
        assert not await leader.confirm()
        await leader.step()
        assert not leader.holds() and leader.leader == follower.instance
        assert leader.epoch == follower.epoch  # it learnt the new epoch
        assert not refused_a.errors and not refused_b.errors


async def test_a_released_lease_is_taken_over_at_once(secure: SecureNats) -> None:
    await _fresh_lease(secure)
    async with (
        client_as(secure, "dispatcher") as (nc_a, _),
        client_as(secure, "dispatcher") as (nc_b, _),
    ):
        a = LeaderElection(NatsLeaseStore(await nc_a.jetstream().key_value("LEASES")), "a", 30)
        b = LeaderElection(NatsLeaseStore(await nc_b.jetstream().key_value("LEASES")), "b", 30)
        await a.step()
        await b.step()
        assert a.holds() and not b.holds()
        await a.release()
        assert not a.holds()
        await b.step()
        assert b.holds() and b.epoch > a.epoch


async def test_the_dispatcher_identity_touches_only_its_lease_key(secure: SecureNats) -> None:
    async with client_as(secure, "dispatcher") as (nc, refused):
        kv = await nc.jetstream().key_value(subjects.LEASES_BUCKET)
        other = "projector"
        subject = subjects.kv_key(subjects.LEASES_BUCKET, other)
        with pytest.raises(Exception):  # noqa: B017 - the publish gets no answer (dropped)
            await asyncio.wait_for(kv.put(other, b"x"), 3)
        await async_wait_until(lambda: refused.violations(subject), 5)
        with pytest.raises(Exception):  # noqa: B017 - no right to delete the bucket
            await asyncio.wait_for(nc.jetstream().delete_key_value(subjects.LEASES_BUCKET), 3)
    async with client_as(secure, "ops") as (ops, _):
        kv = await ops.jetstream().key_value(subjects.LEASES_BUCKET)
        with pytest.raises(KeyNotFoundError):
            await kv.get(other)


async def test_a_deposed_leader_sends_nothing_and_saves_nothing(
    command_keys: CommandKeys, store: SqlDispatcherStore, js: Any, db_url: str
) -> None:
    """The leader's dispatcher cycles with its epoch; once another took the lease over, its
    next cycle ends before anything is sent or saved (it learns so at its first send)."""
    kv = await ensure_lease_bucket(js)
    a = LeaderElection(NatsLeaseStore(kv), "disp-a", TTL_S, poll_s=0.1)
    b = LeaderElection(NatsLeaseStore(kv), "disp-b", TTL_S, poll_s=0.1)
    await a.step()
    await b.step()
    assert a.holds() and not b.holds()
    devices = FollowingDevices(store, js)
    now = datetime.now(UTC)
    devices.report(now, PLANT)
    insert_dispatch(db_url, "d-lead", "absolute", [(now, 120.0, 9000.0)])
    sender = NatsCommandSender(js, command_keys.signer)
    disp = Dispatcher(store, sender, DispatcherSettings(), fence=a)
    await disp.cycle(now + timedelta(seconds=1))
    cmds = await devices.take_commands()
    assert cmds and {c["epoch"] for c in cmds} == {a.epoch}
    saved = store.loop_state("d-lead")

    # b takes over behind a's back (a is paused: it neither renews nor looks)
    async def took_over() -> bool:
        await b.step()
        return b.holds()

    await async_wait_until(took_over, TTL_S + 2, step_s=b.poll_s)
    # a's lease has run out by its own clock: it stops before the first dispatch
    with pytest.raises(NotLeading):
        await disp.cycle(now + timedelta(seconds=5))
    # even with a clock that says it still leads, the send is confirmed against the lease
    a._lead_until = time.monotonic() + TTL_S
    a._leading = True
    with pytest.raises(NotLeading):
        await disp.cycle(now + timedelta(seconds=30))  # the setpoints are due again
    assert not a.holds() and a.leader == "disp-b"
    assert await devices.take_commands() == []
    assert store.loop_state("d-lead") == saved
    # the new leader continues with its own epoch
    devices.report(now + timedelta(seconds=29), PLANT)
    successor = Dispatcher(store, sender, DispatcherSettings(), fence=b)
    await successor.cycle(now + timedelta(seconds=30))
    assert {c["epoch"] for c in await devices.take_commands()} == {b.epoch}
    assert a.epoch == b.epoch  # a learnt the new epoch when it was deposed

"""Projector processes sharing the telemetry partitions (issue 13), against a real secure
nats-server (TELEMETRY in 8 partitions, provisioned by ops) and both store backends:
one of two is SIGKILLed mid-stream, restarted, then a third joins — every reading is in
the read model exactly once and the roll-ups count each once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

from tests.harness.nats_clients import client_as
from tests.harness.projector import der_ids, register_ders
from tests.harness.projector_group import (
    Projectors,
    Published,
    describe,
    publish_round,
    rollup_counts,
    stored,
)
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.store.engine import make_engine
from vpp.bootstrap.nats_security import gateway_identity
from vpp.bootstrap.processes import Supervisor
from vpp.bootstrap.secure_nats import start_secure_nats

GATEWAYS = tuple(f"gw-{i}" for i in range(8))
#: processes start (interpreter, migrations, NATS over TLS) and settle their shares
SETTLED_S = 60.0
#: a killed projector's partitions are taken over (its lease time to live is 3 s)
TAKEOVER_S = 30.0
#: every published reading is in the read model
CATCH_UP_S = 60.0
#: the metrics are sampled every 2 s
METRICS_S = 15.0
LAG = "vpp_projector_lag_messages"
#: the test itself: pacing of the publisher, so that a kill lands mid-stream
ROUND_GAP_S = 0.05


async def test_projectors_share_partitions_and_a_kill_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str
) -> None:
    for gw in GATEWAYS:
        register_ders(db_url, gw, der_ids(gw))
    nats_ = await asyncio.to_thread(start_secure_nats, tmp_path / "run", GATEWAYS)
    sup = Supervisor(tmp_path / "logs")
    engine = make_engine(db_url)
    group = Projectors(sup, nats_, db_url)
    published = Published()
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                gw: (await stack.enter_async_context(client_as(nats_, gateway_identity(gw))))[0]
                for gw in GATEWAYS
            }
            second = 0

            async def publish(rounds: int) -> None:
                nonlocal second
                for _ in range(rounds):
                    await publish_round(clients, published, second)
                    second += 2
                    await asyncio.sleep(ROUND_GAP_S)

            async def settled(shares: list[int]) -> None:
                def check() -> bool:
                    return sorted(group.shares().values()) == shares and all(
                        group.ready(i) for i in group.procs
                    )

                await async_wait_until(
                    check,
                    SETTLED_S,
                    0.2,
                    in_thread=True,
                    what=lambda: (
                        f"shares {group.shares()} != {shares} ({describe(sup)})\n" + group.logs()
                    ),
                )

            async def caught_up() -> None:
                await async_wait_until(
                    lambda: stored(engine) == published.rows,
                    CATCH_UP_S,
                    0.2,
                    in_thread=True,
                    what=lambda: (
                        f"{len(stored(engine))} of {len(published.rows)} rows\n" + group.logs()
                    ),
                )

            group.start("projector-1")
            group.start("projector-2")
            await settled([4, 4])

            publisher = asyncio.create_task(publish(30))
            await async_wait_until(
                lambda: len(stored(engine)) > 400, CATCH_UP_S, 0.1, in_thread=True
            )
            assert not publisher.done(), "the kill must land mid-stream"
            group.kill("projector-1")
            await publisher
            await async_wait_until(
                lambda: group.shares() == {"projector-2": 8}, TAKEOVER_S, 0.2, in_thread=True
            )
            await caught_up()

            group.start("projector-1")  # the same instance comes back
            await settled([4, 4])
            await publish(10)
            await caught_up()

            group.start("projector-3")
            await settled([2, 3, 3])
            await publish(10)
            await (
                clients[GATEWAYS[0]]
                .jetstream()
                .publish(subjects.telemetry(GATEWAYS[0]), b"\xff not json")
            )
            await caught_up()
            assert group.total("vpp_projector_main_owned") == 1

            def metrics_settled() -> bool:
                return (
                    group.total("vpp_projector_dead_letters_total") == 1
                    and group.total(LAG) == 0
                    and group.total("vpp_projector_pending_messages") == 0
                    and len(lags()) == 8 + 2  # every partition, commands and acks
                )

            def lags() -> dict[str, float]:
                return {k: v for i in group.procs for k, v in group.metric(i, LAG).items()}

            await async_wait_until(
                metrics_settled, METRICS_S, 0.2, in_thread=True, what=lambda: str(lags())
            )

        codes = sup.stop_all()
        assert [c for name, c in codes.items() if not name.startswith("projector-1-0")] == [
            0,
            0,
            0,
        ], codes
        assert stored(engine) == published.rows  # nothing lost, nothing twice
        per_minute = Counter((d, ts.strftime("%Y-%m-%d %H:%M")) for d, ts in published.rows)
        assert rollup_counts(engine) == dict(per_minute)  # each reading counted once
    finally:
        sup.stop_all()
        nats_.stop()
        engine.dispose()

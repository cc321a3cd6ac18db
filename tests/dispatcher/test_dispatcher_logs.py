"""``vpp dispatcher --log-format json``: the commands it sends for a dispatch are logged
as JSON objects carrying the dispatch's id (and each command's id at DEBUG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nats

from tests.harness.dispatching import BATS, PV, devices_report, insert_dispatch
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.store import migrate
from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
from vpp.adapters.store.engine import make_engine
from vpp.application.ports import DerRecord, RegistryImport
from vpp.domain import Plant, Tenant
from vpp.runtime import stop_process, utc_now


async def test_dispatcher_logs_its_commands_with_the_dispatch_id(
    nats_server_factory: Any, sqlite_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(sqlite_url)
    store = SqlDispatcherStore(make_engine(sqlite_url))
    store.registry.import_registry(
        RegistryImport(
            tenants=[Tenant("t1")],
            ders=[DerRecord(d, "sunspec", None) for d in [*BATS, PV]],
            plants=[Plant("plant-1", "t1", frozenset(d.der_id for d in [*BATS, PV]))],
        )
    )
    now = utc_now()
    devices_report(store, now, {"bat-0": 0, "bat-1": 0, "bat-2": 0, "pv-1": 6000})
    insert_dispatch(sqlite_url, "d-logged", "absolute", [(now, 120.0, 9000.0)])
    server = nats_server_factory()
    nc = await nats.connect(server.url)
    await ensure_streams(nc.jetstream())
    await nc.close()
    log = tmp_path / "dispatcher.log"
    args = ["dispatcher", "--nats", server.url, "--db", sqlite_url, "--log-format", "json"]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vpp", *args, "--cycle-s", "1"],
            stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "VPP_DATA_DIR": str(tmp_path)},
        )  # fmt: skip

    def sent() -> list[dict[str, Any]]:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        records = [json.loads(ln) for ln in lines]  # each line one JSON object
        return [r for r in records if "commands sent" in r["message"] and "seq" in r]

    try:
        await async_wait_until(sent, 30, what=log.read_text)
    finally:
        assert stop_process(proc) == 0, log.read_text()
        store.engine.dispose()
    rec = sent()[0]
    assert rec["dispatch_id"] == "d-logged" and rec["plant_id"] == "plant-1"
    assert rec["instance"] == "dispatcher" and isinstance(rec["seq"], int)

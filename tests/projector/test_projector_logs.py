"""``vpp projector --log-format json``: a refused reading is logged as one JSON object
naming the gateway and the DER (what an operator greps for)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nats

from tests.harness.projector import T0, publish_telemetry, register_ders
from tests.harness.wait import async_wait_until
from vpp.adapters.nats.streams import ensure_streams
from vpp.domain import Reading
from vpp.runtime import stop_process


async def test_projector_logs_a_refusal_as_json(
    nats_server_factory: Any, sqlite_url: str, tmp_path: Path
) -> None:
    server = nats_server_factory()
    register_ders(sqlite_url, "gw-a", ["bat-0001"])
    nc = await nats.connect(server.url)
    await ensure_streams(nc.jetstream())
    log = tmp_path / "projector.log"
    args = ["projector", "--nats", server.url, "--db", sqlite_url, "--log-format", "json"]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vpp", *args], stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "VPP_DATA_DIR": str(tmp_path)},
        )  # fmt: skip

    def refusals() -> list[dict[str, Any]]:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        records = [json.loads(ln) for ln in lines]  # each line one JSON object
        return [r for r in records if r.get("event") == "dead_letter"]

    try:
        await publish_telemetry(nc.jetstream(), "gw-a", [Reading("ghost-9", T0, 1.0)])
        await async_wait_until(refusals, 30, what=log.read_text)
    finally:
        await nc.close()
        assert stop_process(proc) == 0, log.read_text()
    rec = refusals()[0]
    assert rec["gateway_id"] == "gw-a" and rec["der_id"] == "ghost-9"
    assert rec["instance"] == "projector" and rec["level"] == "WARNING"
    assert rec["kind"] == "refused" and rec["refused_items"] == 1

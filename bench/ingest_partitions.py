"""The partitioned cases of ``bench/ingest.py``: ``k`` projector processes
(``vpp projector --instance bench-i``, real processes: they can use more than one core)
sharing TELEMETRY in :data:`PARTITIONS` partitions, measured live — the processes are
up and hold their shares before the first publish, the clock stops at the last commit.

Before each case the stream is purged and the read models and positions emptied, so
every case projects the same readings from an empty store.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

from vpp.adapters.nats import subjects
from vpp.adapters.nats.lease import ensure_lease_bucket
from vpp.adapters.nats.server import free_port
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.store import schema
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.telemetry_reads import SqlTelemetryReadStore
from vpp.bootstrap.processes import Supervisor

PARTITIONS = 8
SETTLE_S = 120.0


def _owned(port: int) -> int | None:
    """Partitions the process on ``port`` holds once it is ready; ``None`` before."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            if r.status != 200:
                return None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("vpp_projector_partitions_owned "):
                    return int(float(line.rsplit(" ", 1)[1]))
    except (urllib.error.URLError, OSError):
        return None
    return None


def _clear(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as con:
        for table in (
            schema.telemetry,
            schema.latest_state,
            schema.telemetry_1m,
            schema.projection_positions,
            schema.rollup_watermarks,
        ):
            con.execute(table.delete())
    engine.dispose()


async def _settled(ports: list[int], sup: Supervisor) -> None:
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        owned = await asyncio.to_thread(lambda: [_owned(p) for p in ports])
        if None not in owned and sum(o or 0 for o in owned) == PARTITIONS:
            return
        if sup.dead():
            raise RuntimeError(f"a projector died: {sup.dead()[0].tail()}")
        await asyncio.sleep(0.2)
    raise RuntimeError(f"projectors did not settle within {SETTLE_S} s")


async def partitioned_cases(
    nats_url: str,
    url: str,
    js: object,
    counts: list[int],
    messages: Callable[[int], list[tuple[str, bytes, str]]],
    publish: Callable[[object, list[tuple[str, bytes, str]]], Awaitable[float]],
    expect: int,
    work: Path,
) -> list[tuple[str, float]]:
    """(case, seconds) for each process count; ``messages(offset_s)`` makes the same
    readings at another time (new message ids and keys)."""
    await ensure_streams(js, telemetry_partitions=PARTITIONS)  # type: ignore[arg-type]
    await ensure_lease_bucket(js)  # type: ignore[arg-type]
    out = []
    for i, k in enumerate(counts):
        await js.purge_stream(subjects.TELEMETRY.name)  # type: ignore[attr-defined]
        await asyncio.to_thread(_clear, url)
        # a fresh engine per case: one kept from the case before went on counting 0 rows
        # on SQLite after the tables were emptied and refilled by other processes
        engine = make_engine(url)
        reads = SqlTelemetryReadStore(engine)
        sup = Supervisor(work / f"projectors-{k}-{i}")
        ports = [free_port() for _ in range(k)]
        try:
            for j, port in enumerate(ports):
                args = ["projector", "--nats", nats_url, "--db", url, "--instance", f"bench-{j}"]
                sup.start(f"bench-{j}", [*args, "--metrics-port", str(port)])
            await _settled(ports, sup)
            msgs = messages(2 * 10**6 * (i + 1))
            t = last_print = time.perf_counter()
            await publish(js, msgs)
            while (done := await asyncio.to_thread(reads.count)) < expect:
                if sup.dead():
                    raise RuntimeError(f"a projector died: {sup.dead()[0].tail()}")
                if time.perf_counter() - last_print > 5:
                    print(f"    … {k} projector(s): {done:,}/{expect:,} rows", file=sys.stderr)
                    last_print = time.perf_counter()
                await asyncio.sleep(0.2)
            out.append((f"{k} projector proc(s), {PARTITIONS} partitions", time.perf_counter() - t))
        finally:
            codes = sup.stop_all()
            engine.dispose()
            if any(c not in (0, None) for c in codes.values()):
                print(f"    exit codes {json.dumps(codes)}", file=sys.stderr)
    return out

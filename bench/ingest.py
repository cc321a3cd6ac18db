"""Ingest benchmark: readings per second from JetStream to committed read models.

For each store backend (SQLite file, private MariaDB) and in the same run:

* ``raw_pull``   — a durable pull consumer fetching and acking the telemetry messages,
                   no decoding, no database: the ceiling NATS and nats-py set;
* ``raw_insert`` — a plain batched ``INSERT`` of the same rows into ``telemetry``
                   (2,000 rows a transaction): the ceiling the database sets;
* ``projector``  — the real projector (decode, telemetry + latest state + 1-min roll-ups +
                   position in one transaction, canal-json change records) draining the
                   backlog;
* ``live``       — publishing at full speed while the projector runs: first publish to
                   last commit;
* with ``--partitions 1,2,4``: the same live case with 1, 2 and 4 projector processes
                   sharing TELEMETRY in 8 partitions (``bench/ingest_partitions.py``).

The DERs are spread over gateways of ``--ders-per-gateway`` (default 5,000; a partition
is a set of gateways, so the partitioned cases want many gateways, e.g. 250).

Usage: ``python bench/ingest.py [--readings 200000] [--backends sqlite,mysql]
[--partitions 1,2,4] [--ders-per-gateway 250]``.
Prints a table and writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_partitions import partitioned_cases  # noqa: E402
from vpp.adapters.nats import codec, subjects  # noqa: E402
from vpp.adapters.nats.server import start_nats_server  # noqa: E402
from vpp.adapters.nats.streams import ensure_streams  # noqa: E402
from vpp.adapters.store import migrate, schema  # noqa: E402
from vpp.adapters.store.engine import make_engine  # noqa: E402
from vpp.adapters.store.mariadb_server import start_mariadb  # noqa: E402
from vpp.adapters.store.registry_store import SqlRegistryStore  # noqa: E402
from vpp.adapters.store.rows import reading_row  # noqa: E402
from vpp.adapters.store.telemetry_reads import SqlTelemetryReadStore  # noqa: E402
from vpp.application.ports import DerRecord, RegistryImport  # noqa: E402
from vpp.bootstrap import run_projector  # noqa: E402
from vpp.domain import Der, DerKind, DerRatings, Reading  # noqa: E402

PER_MESSAGE = 500  # readings per gateway cycle message
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DERS_PER_GATEWAY = [5000]  # set from --ders-per-gateway


def gateway_of(der: int) -> str:
    return f"gw-{der // DERS_PER_GATEWAY[0]}"


def make_messages(n: int, ders: int, offset_s: int = 0) -> list[tuple[str, bytes, str]]:
    """(subject, payload, msg id) of ``n`` readings, ``ders`` DERs at a 4 s cadence; a
    message holds readings of one gateway's DERs only (its subject's)."""
    out = []
    batches: list[tuple[str, list[Reading]]] = []
    for i in range(n):
        der, cycle = i % ders, i // ders
        gw = gateway_of(der)
        if not batches or batches[-1][0] != gw or len(batches[-1][1]) == PER_MESSAGE:
            batches.append((gw, []))
        ts = T0 + timedelta(seconds=offset_s + 4 * cycle, microseconds=der)
        batches[-1][1].append(Reading(f"der-{der:05d}", ts, 1000.0 + der, q_var=10.0, soc=0.5))
    for gw, readings in batches:
        out.append(
            (
                subjects.telemetry(gw),
                codec.encode_telemetry(gw, readings),
                codec.telemetry_msg_id(gw, readings),
            )
        )
    return out


def register_ders(url: str, ders: int) -> None:
    """The DERs behind their gateways: the projector refuses readings of any other."""
    ratings = DerRatings(-5000.0, 5000.0, energy_wh=10_000.0)
    records = [
        DerRecord(Der(f"der-{d:05d}", DerKind.BATTERY, ratings, gateway_id=gateway_of(d)))
        for d in range(ders)
    ]
    engine = make_engine(url)
    SqlRegistryStore(engine).import_registry(RegistryImport(ders=records))
    engine.dispose()


async def publish(js: object, msgs: list[tuple[str, bytes, str]]) -> float:
    t = time.perf_counter()
    futures = []
    for subject, payload, msg_id in msgs:
        futures.append(await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id}))  # type: ignore[attr-defined]
        if len(futures) >= 2000:
            await asyncio.wait_for(asyncio.gather(*futures), 60)
            futures = []
    await asyncio.wait_for(asyncio.gather(*futures), 60)
    return time.perf_counter() - t


async def raw_pull(js: object, n_msgs: int) -> float:
    sub = await js.pull_subscribe("vpp.telemetry.>", durable="bench-raw")  # type: ignore[attr-defined]
    got, t = 0, time.perf_counter()
    while got < n_msgs:
        msgs = await sub.fetch(200, timeout=5)
        got += len(msgs)
        await msgs[-1].ack()
    return time.perf_counter() - t


def raw_insert(url: str, msgs: list[tuple[str, bytes, str]]) -> float:
    rows = [
        reading_row(r) for _, payload, _ in msgs for r in codec.decode_telemetry(payload).readings
    ]
    engine = make_engine(url)
    t = time.perf_counter()
    for i in range(0, len(rows), 2000):
        with engine.begin() as con:
            con.execute(insert(schema.telemetry), rows[i : i + 2000])
    elapsed = time.perf_counter() - t
    engine.dispose()
    return elapsed


async def project(
    nats_url: str, url: str, expect: int, publish_msgs: list | None, js: object
) -> float:
    engine = make_engine(url)
    reads = SqlTelemetryReadStore(engine)
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(run_projector(nats_url, url, stop, ready=ready))
    await ready.wait()
    t = time.perf_counter()
    if publish_msgs:
        await publish(js, publish_msgs)
    last_print = 0.0
    while (done := await asyncio.to_thread(reads.count)) < expect:
        if time.perf_counter() - last_print > 5:
            print(f"    … {done:,}/{expect:,} rows", file=sys.stderr)
            last_print = time.perf_counter()
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - t
    stop.set()
    await task
    engine.dispose()
    return elapsed


async def one_backend(
    name: str, url: str, n: int, ders: int, work: Path, partitions: list[int] | None = None
) -> list[dict[str, object]]:
    server = start_nats_server(work / f"nats-{name}")
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        msgs = make_messages(n, ders)
        pub_s = await publish(js, msgs)
        pull_s = await raw_pull(js, len(msgs))
        migrate.upgrade(url)
        await asyncio.to_thread(register_ders, url, ders)
        ins_url = url
        insert_s = await asyncio.to_thread(raw_insert, ins_url, msgs)
        # fresh tables for the projector
        engine = make_engine(url)
        with engine.begin() as con:
            for table in (
                schema.telemetry,
                schema.latest_state,
                schema.telemetry_1m,
                schema.projection_positions,
            ):
                con.execute(table.delete())
        engine.dispose()
        proj_s = await project(server.url, url, n, None, js)
        live_msgs = make_messages(n, ders, offset_s=10**6)
        live_s = await project(server.url, url, 2 * n, live_msgs, js)
        cases = [
            ("publish (async)", pub_s),
            ("raw_pull", pull_s),
            ("raw_insert", insert_s),
            ("projector (backlog)", proj_s),
            ("live publish+project", live_s),
        ]
        if partitions:
            cases += await partitioned_cases(
                server.url,
                url,
                js,
                partitions,
                lambda offset: make_messages(n, ders, offset_s=offset),
                publish,
                n,
                work,
            )
        await nc.close()
    finally:
        server.stop()
    rows = []
    for case, secs in cases:
        rows.append(
            {
                "backend": name,
                "case": case,
                "readings": n,
                "seconds": round(secs, 3),
                "readings_per_s": round(n / secs),
            }
        )
    return rows


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so every server started here is stopped by its PID
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=200_000)
    ap.add_argument("--ders", type=int, default=20_000)
    ap.add_argument("--backends", default="sqlite,mysql")
    ap.add_argument("--partitions", default="", help="projector processes per case: 1,2,4")
    ap.add_argument("--ders-per-gateway", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = ap.parse_args()
    DERS_PER_GATEWAY[0] = args.ders_per_gateway
    procs = [int(k) for k in args.partitions.split(",") if k] or None
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            print(f"== {backend}", file=sys.stderr)
            if backend == "sqlite":
                results += asyncio.run(
                    one_backend(
                        "sqlite",
                        f"sqlite:///{work / 'b.sqlite'}",
                        args.readings,
                        args.ders,
                        work,
                        procs,
                    )
                )
            else:
                maria = start_mariadb(work / "mariadb")
                try:
                    url = maria.create_database("bench")
                    results += asyncio.run(
                        one_backend("mariadb", url, args.readings, args.ders, work, procs)
                    )
                finally:
                    maria.stop()
    base = {(r["backend"], r["case"]): r["readings_per_s"] for r in results}
    print(
        f"\n{'backend':<8} {'case':<36} {'readings':>9} {'seconds':>8} "
        f"{'readings/s':>11} {'vs raw_insert':>13}"
    )
    for r in results:
        ratio = r["readings_per_s"] / base[(r["backend"], "raw_insert")]  # type: ignore[operator]
        r["ratio_to_raw_insert"] = round(ratio, 3)
        print(
            f"{r['backend']:<8} {r['case']:<36} {r['readings']:>9,} {r['seconds']:>8.2f} "
            f"{r['readings_per_s']:>11,} {ratio:>13.2f}"
        )
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": platform.node(),
                "python": platform.python_version(),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()

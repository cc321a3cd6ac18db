"""Looking into a local-cluster playground from outside, as an operator's script does: its
``info.json`` (processes, PIDs, ops endpoints), each process's ``/metrics`` and
``/readyz``, and the read models in its store."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text

from tests.harness.nats_cluster import telemetry_keys
from vpp.adapters.nats.client import connect
from vpp.adapters.store import schema
from vpp.bootstrap.nats_client import settings_for


def info_of(info_file: Path) -> dict[str, Any]:
    return dict(json.loads(info_file.read_text()))


def processes(info_file: Path, role: str) -> list[dict[str, Any]]:
    """The processes of ``role`` that info.json lists now (it is rewritten on restarts)."""
    return [p for p in info_of(info_file)["processes"] if p["role"] == role]


def metric(ops_url: str, name: str, **labels: str) -> float | None:
    """The value of sample ``name`` (with ``labels``) on a process's ``/metrics``; ``None``
    when the process does not answer or has no such sample."""
    try:
        body = httpx.get(f"{ops_url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def ready(ops_url: str) -> bool:
    try:
        return httpx.get(f"{ops_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def leaders(info_file: Path) -> list[dict[str, Any]]:
    """The dispatchers that say they lead (``vpp_dispatcher_leader`` 1)."""
    return [
        p
        for p in processes(info_file, "dispatcher")
        if metric(p["ops_url"], "vpp_dispatcher_leader") == 1.0
    ]


def kill(proc: dict[str, Any], sig: signal.Signals = signal.SIGKILL) -> None:
    os.kill(int(proc["pid"]), sig)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def store_query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the playground's store (a fresh connection each time)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def readings_by_der(db_url: str) -> dict[str, int]:
    return dict(store_query(db_url, "SELECT der_id, COUNT(*) FROM telemetry GROUP BY der_id"))


def produced_by_der(info_file: Path) -> dict[str, int]:
    """What the gateways say they produced per DER (``vpp_gateway_readings_total``)."""
    out: dict[str, int] = {}
    for gw in processes(info_file, "gateway"):
        body = httpx.get(f"{gw['ops_url']}/metrics", timeout=5).text
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                if s.name == "vpp_gateway_readings_total":
                    der = s.labels["der_id"]
                    out[der] = out.get(der, 0) + int(s.value)
    return out


def stored_keys(db_url: str) -> set[tuple[str, datetime]]:
    """Every (der_id, ts) the read model holds, typed by the store's own schema."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            t = schema.telemetry
            rows = conn.execute(select(t.c.der_id, t.c.ts))
            return {(d, ts if ts.tzinfo else ts.replace(tzinfo=UTC)) for d, ts in rows}
    finally:
        engine.dispose()


async def published_keys(run_dir: Path) -> Counter[tuple[str, datetime]]:
    """Every reading's (der_id, ts) in the TELEMETRY stream, counted, read as ops."""
    ops_file = run_dir / "security" / "nats" / "clients" / "ops.yaml"
    nc = await connect(settings_for(None, ops_file), "test-ops")
    try:
        return await telemetry_keys(nc, "TELEMETRY")
    finally:
        await nc.close()


def rolled_up_minutes(db_url: str) -> dict[tuple[str, datetime], int]:
    """The 1-minute roll-ups stored: (der_id, minute) -> readings counted."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            t = schema.telemetry_1m
            rows = conn.execute(select(t.c.der_id, t.c.bucket, t.c.n))
            return {(d, b if b.tzinfo else b.replace(tzinfo=UTC)): int(n) for d, b, n in rows}
    finally:
        engine.dispose()

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from vpp.cli.log_options import LogFormatOption, setup_logs
from vpp.cli.retention_options import (
    Retain1m,
    Retain15m,
    RetainRaw,
    RetentionEvery,
    retention_settings,
)


def projector(
    nats_url: Annotated[
        str | None, typer.Option("--nats", help="NATS URL (default: the client file's)")
    ] = None,
    nats_client: Annotated[
        Path | None,
        typer.Option("--nats-client", help="NATS client file (identity, inbox, TLS)"),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite)")] = None,
    instance: Annotated[
        str,
        typer.Option(
            "--instance", help="This process's name in the projector group (unique per process)"
        ),
    ] = "projector",
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve /metrics, /healthz, /readyz on this port"),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address of the metrics endpoint")
    ] = "127.0.0.1",
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl", min=2.0, help="Seconds of silence after which a projector is dead"
        ),
    ] = 5.0,
    log_format: LogFormatOption = None,
    retain_raw: RetainRaw = "2d",
    retain_1m: Retain1m = "30d",
    retain_15m: Retain15m = "400d",
    retention_every: RetentionEvery = "10m",
) -> None:
    """Project TELEMETRY, COMMANDS and ACKS into the read models until SIGINT/SIGTERM.

    Any number of processes (each its own --instance) share the telemetry partitions;
    one of them projects commands and acks, rolls telemetry up and keeps it bounded."""
    from vpp.bootstrap.nats_client import settings_for
    from vpp.bootstrap.projector import OpsAddress, ProjectorStats, run_projector
    from vpp.domain.ids import validate_id

    validate_id(instance, "instance")
    setup_logs(log_format, instance)
    retention = retention_settings(retain_raw, retain_1m, retain_15m, retention_every)
    ops = None if metrics_port is None else OpsAddress(metrics_host, metrics_port)

    async def main() -> ProjectorStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        nats = settings_for(nats_url, nats_client)
        return await run_projector(
            nats, db, stop, instance=instance, ops=ops, lease_ttl_s=lease_ttl, retention=retention
        )

    stats = asyncio.run(main())
    typer.echo(json.dumps(stats, default=str))

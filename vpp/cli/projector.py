from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer


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
) -> None:
    """Project TELEMETRY, COMMANDS and ACKS into the read models until SIGINT/SIGTERM.

    Any number of processes (each its own --instance) share the telemetry partitions;
    one of them projects commands and acks and rolls telemetry up."""
    from vpp.bootstrap.nats_client import settings_for
    from vpp.bootstrap.projector import OpsAddress, ProjectorStats, run_projector
    from vpp.domain.ids import validate_id

    validate_id(instance, "instance")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {instance} %(name)s %(message)s")
    ops = None if metrics_port is None else OpsAddress(metrics_host, metrics_port)

    async def main() -> ProjectorStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_projector(
            settings_for(nats_url, nats_client),
            db,
            stop,
            instance=instance,
            ops=ops,
            lease_ttl_s=lease_ttl,
        )

    stats = asyncio.run(main())
    typer.echo(json.dumps(stats, default=str))

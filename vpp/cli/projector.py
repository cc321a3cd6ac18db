from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from vpp.cli.log_options import LogFormatOption, setup_logs


def projector(
    nats_url: Annotated[
        str | None, typer.Option("--nats", help="NATS URL (default: the client file's)")
    ] = None,
    nats_client: Annotated[
        Path | None,
        typer.Option("--nats-client", help="NATS client file (identity, inbox, TLS)"),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite)")] = None,
    log_format: LogFormatOption = None,
) -> None:
    """Project TELEMETRY, COMMANDS and ACKS into the read models until SIGINT/SIGTERM."""
    from vpp.bootstrap.nats_client import settings_for
    from vpp.bootstrap.projector import ProjectorStats, run_projector

    setup_logs(log_format, "projector")

    async def main() -> ProjectorStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_projector(settings_for(nats_url, nats_client), db, stop)

    stats = asyncio.run(main())
    typer.echo(json.dumps(stats, default=str))

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from vpp.cli.log_options import LogFormatOption, setup_logs


def dispatcher(
    nats_url: Annotated[
        str | None, typer.Option("--nats", help="NATS URL (default: the client file's)")
    ] = None,
    nats_client: Annotated[
        Path | None,
        typer.Option("--nats-client", help="NATS client file (identity, inbox, TLS)"),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite)")] = None,
    cycle_s: Annotated[float, typer.Option("--cycle-s", min=0.5, help="Loop period")] = 4.0,
    signing_keys: Annotated[
        Path | None,
        typer.Option(
            "--signing-keys",
            help="command-signing keyring (default <data dir>/command-signing; "
            "created with a first key if missing)",
        ),
    ] = None,
    log_format: LogFormatOption = None,
) -> None:
    """Follow accepted dispatches with per-DER setpoints until SIGINT/SIGTERM."""
    from vpp.bootstrap import run_dispatcher
    from vpp.bootstrap.nats_client import settings_for

    setup_logs(log_format, "dispatcher")

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_dispatcher(
            settings_for(nats_url, nats_client),
            db,
            stop,
            cycle_s=cycle_s,
            signing_keys=signing_keys,
        )

    sent = asyncio.run(main())
    typer.echo(f"dispatcher stopped; {sent} commands sent")

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from vpp.cli.log_options import LogFormatOption, setup_logs

NatsUrl = Annotated[
    str | None, typer.Option("--nats", help="NATS URL (default: the client file's)")
]
NatsClient = Annotated[
    Path | None, typer.Option("--nats-client", help="NATS client file (identity, inbox, TLS)")
]
SigningKeys = Annotated[
    Path | None,
    typer.Option(
        "--signing-keys",
        help="command-signing keyring (default <data dir>/command-signing; "
        "created with a first key if missing)",
    ),
]
Instance = Annotated[
    str, typer.Option("--instance", help="this dispatcher's name (logs, metrics, lease holder)")
]
MetricsPort = Annotated[
    int | None, typer.Option("--metrics-port", help="serve /metrics, /healthz, /readyz here")
]
LeaseTtl = Annotated[
    float | None,
    typer.Option(
        "--lease-ttl-s",
        min=1.0,
        help="leader lease lifetime; a follower takes over this long after the "
        "leader's last renewal (default: the cycle, at least 2 s)",
    ),
]


def dispatcher(
    nats_url: NatsUrl = None,
    nats_client: NatsClient = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite)")] = None,
    cycle_s: Annotated[float, typer.Option("--cycle-s", min=0.5, help="Loop period")] = 4.0,
    signing_keys: SigningKeys = None,
    instance: Instance = "dispatcher",
    metrics_port: MetricsPort = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host")] = "127.0.0.1",
    lease_ttl_s: LeaseTtl = None,
    log_format: LogFormatOption = None,
) -> None:
    """Follow accepted dispatches with per-DER setpoints until SIGINT/SIGTERM.  Several
    dispatchers may run: one leads (a lease with a fencing epoch), the others stand by."""
    from vpp.bootstrap import run_dispatcher
    from vpp.bootstrap.dispatcher import DispatcherOptions
    from vpp.bootstrap.nats_client import settings_for
    from vpp.domain.ids import validate_id

    validate_id(instance, "instance")
    setup_logs(log_format, instance)
    options = DispatcherOptions(
        cycle_s=cycle_s,
        instance=instance,
        lease_ttl_s=lease_ttl_s,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_dispatcher(
            settings_for(nats_url, nats_client),
            db,
            stop,
            signing_keys=signing_keys,
            options=options,
        )

    sent = asyncio.run(main())
    typer.echo(f"dispatcher stopped; {sent} commands sent")

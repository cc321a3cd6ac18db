"""``vpp playground``: the whole stack on this machine (see :mod:`vpp.bootstrap.playground`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def playground(
    fleet: Annotated[
        Path | None, typer.Option("--fleet", help="Fleet YAML (default: demo)")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite file)")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Run directory")] = None,
    api_port: Annotated[int, typer.Option("--api-port", help="0 = any free port")] = 8000,
    info_file: Annotated[Path | None, typer.Option("--info-file", help="Write URLs, key")] = None,
    duration_s: Annotated[
        float | None, typer.Option("--duration-s", help="Stop by itself after this long")
    ] = None,
    cycle_s: Annotated[float, typer.Option("--cycle-s", help="Dispatcher loop period")] = 4.0,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Gateway poll period")] = 1.0,
    nats_nodes: Annotated[
        int, typer.Option("--nats-nodes", min=1, max=5, help="NATS nodes (3: a JetStream cluster)")
    ] = 1,
    projectors: Annotated[
        int, typer.Option("--projectors", min=1, max=8, help="Projector processes")
    ] = 1,
    dispatchers: Annotated[
        int, typer.Option("--dispatchers", min=1, max=4, help="Dispatcher processes (one leads)")
    ] = 1,
    gateways: Annotated[
        int, typer.Option("--gateways", min=1, max=16, help="Gateways sharing the devices")
    ] = 1,
    prometheus: Annotated[
        bool, typer.Option("--prometheus", help="A Prometheus scraping every process")
    ] = False,
) -> None:
    """Run the whole stack on this machine; Ctrl-C stops it."""
    from vpp.bootstrap.playground import PlaygroundOptions, run_playground

    options = PlaygroundOptions(
        fleet=fleet,
        db=db,
        data_dir=data_dir,
        api_port=api_port,
        info_file=info_file,
        duration_s=duration_s,
        cycle_s=cycle_s,
        poll_s=poll_s,
        nats_nodes=nats_nodes,
        projectors=projectors,
        dispatchers=dispatchers,
        prometheus=prometheus,
        gateways=gateways,
    )
    if run_playground(options, typer.echo):
        raise typer.Exit(1)

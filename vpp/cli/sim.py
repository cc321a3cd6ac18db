"""``vpp sim``: run simulated DERs over the real protocols (see docs/simulators.md)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
def serve(
    fleet: Path = typer.Option(..., "--fleet", exists=True, dir_okay=False, help="Fleet YAML."),
    endpoints: Path | None = typer.Option(None, "--endpoints", help="Write endpoints as JSON."),
    seed: int | None = typer.Option(None, "--seed", help="Override the fleet file's seed."),
) -> None:
    """Start a simulated fleet; stop every process on Ctrl-C or SIGTERM."""
    from simulators.fleet import FleetStartError, endpoint_table, start_fleet

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        running = start_fleet(fleet, seed=seed)
    except (FleetStartError, OSError, ValueError) as exc:
        typer.echo(f"vpp sim serve: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        typer.echo(endpoint_table(running.endpoints))
        if endpoints is not None:
            endpoints.write_text(json.dumps(running.endpoints, indent=2) + "\n", encoding="utf-8")
            typer.echo(f"endpoints written to {endpoints}")
        typer.echo(
            f"{len(running.endpoints)} devices in {len(running.pids)} processes "
            f"(pids {', '.join(map(str, running.pids))}); Ctrl-C stops them."
        )
        while not stop.wait(1.0):
            if not running.alive():
                typer.echo("vpp sim serve: a worker process exited; stopping", err=True)
                raise typer.Exit(1)
    finally:
        codes = running.stop()
        typer.echo(f"stopped {len(codes)} worker processes (exit codes {codes})")

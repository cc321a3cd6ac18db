from __future__ import annotations

import typer

from vpp.cli._notyet import not_built

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
def serve() -> None:
    """Start a simulated fleet (not built yet)."""
    not_built("sim serve", "the simulators issue")

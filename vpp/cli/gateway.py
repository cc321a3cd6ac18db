from __future__ import annotations

import typer

from vpp.cli._notyet import not_built

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Run the field gateway (not built yet)."""
    not_built("gateway", "the gateway issue")

from __future__ import annotations

import typer


def not_built(what: str, issue: str) -> None:
    """Say plainly that a command is part of the product but not built yet; exit 2."""
    typer.echo(f"vpp {what}: not built yet (tracked in {issue}).", err=True)
    raise typer.Exit(2)

from __future__ import annotations

import typer

from vpp.cli._notyet import not_built

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Create or upgrade a read-model database."""
    not_built("db upgrade", "the foundation issue")

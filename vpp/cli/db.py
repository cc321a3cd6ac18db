from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL: sqlite:///PATH or mysql+pymysql://user:pw@host:port/db. "
        "Default: a SQLite file under the data directory ($VPP_DATA_DIR).",
    ),
]


@app.command("upgrade")
def upgrade(url: UrlOption = None, revision: str = "head") -> None:
    """Create or upgrade a read-model database to the latest schema."""
    from vpp.bootstrap import upgrade_store

    at, shown = upgrade_store(url, revision)
    typer.echo(f"{shown}: at revision {at}")


@app.command("current")
def current(url: UrlOption = None) -> None:
    """Show the schema revision of a database."""
    from vpp.bootstrap import store_revision

    typer.echo(store_revision(url) or "(empty: run vpp db upgrade)")

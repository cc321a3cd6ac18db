from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

URL_FORMS = "use sqlite:///PATH or mysql+pymysql://USER:PASSWORD@HOST:PORT/DATABASE"

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

    with _clear_errors():
        at, shown = upgrade_store(url, revision)
    typer.echo(f"{shown}: at revision {at}")


@app.command("current")
def current(url: UrlOption = None) -> None:
    """Show the schema revision of a database."""
    from vpp.bootstrap import store_revision

    with _clear_errors():
        typer.echo(store_revision(url) or "(empty: run vpp db upgrade)")


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A wrong URL or an unreachable server is one line on stderr, not a traceback."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from vpp.domain.errors import VppError

    try:
        yield
    except (VppError, ArgumentError) as exc:
        typer.echo(f"vpp db: {str(exc).splitlines()[0]}; {URL_FORMS}", err=True)
        raise typer.Exit(2) from exc
    except OperationalError as exc:
        typer.echo(f"vpp db: cannot reach the database: {exc.orig}", err=True)
        raise typer.Exit(2) from exc

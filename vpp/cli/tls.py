"""``vpp tls``: a private CA and the certificates it signs (for the playground and tests,
or a small site without its own PKI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

DirOption = Annotated[
    Path, typer.Option("--dir", file_okay=False, help="The CA's directory (ca.pem, ca-key.pem)")
]


@app.command("create-ca")
def create_ca(
    directory: DirOption,
    name: Annotated[str, typer.Option("--name", help="The CA's common name")] = "vpp private CA",
    days: Annotated[int, typer.Option("--days", min=1)] = 3650,
) -> None:
    """Create a CA: DIR/ca.pem (give it to clients) and DIR/ca-key.pem (0600, keep it)."""
    from vpp.adapters.tls import TlsError
    from vpp.adapters.tls import create_ca as make

    try:
        made = make(directory, name, days=days)
    except TlsError as exc:
        typer.echo(f"vpp tls: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"CA certificate {made.cert}\nCA key         {made.key}")


@app.command("issue")
def issue(
    directory: DirOption,
    name: Annotated[str, typer.Option("--name", help="Certificate name: NAME.pem, NAME-key.pem")],
    san: Annotated[
        list[str] | None,
        typer.Option("--san", help="DNS name or IP the server is reached at (repeat)"),
    ] = None,
    client: Annotated[
        bool, typer.Option("--client", help="A client certificate (clientAuth); with --san: both")
    ] = False,
    days: Annotated[int, typer.Option("--days", min=1)] = 825,
) -> None:
    """Issue a certificate signed by the CA in DIR.  Without --san and --client: a server
    certificate for localhost, 127.0.0.1 and ::1."""
    from vpp.adapters.tls import DEFAULT_SERVER_SANS, TlsError
    from vpp.adapters.tls import issue as sign

    sans: list[str] | None = list(san) if san else None
    if sans is None and not client:
        sans = list(DEFAULT_SERVER_SANS)
    try:
        made = sign(directory, name, server_sans=sans, client=client, days=days)
    except TlsError as exc:
        typer.echo(f"vpp tls: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"certificate {made.cert}\nkey         {made.key}\nCA          {made.ca}")

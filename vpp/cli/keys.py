"""``vpp keys create|rotate|export --dir DIR``: the dispatcher's command-signing keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Command-signing keys (Ed25519) of the dispatcher.", no_args_is_help=True)

DirOption = Annotated[Path, typer.Option("--dir", help="keyring directory (mode 0700)")]
OutOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="write the trusted-keys file here")
]


def _export(directory: Path, output: Path | None) -> None:
    from vpp.bootstrap.signing import export_keys

    text = export_keys(directory, output)
    if output is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {output}", err=True)


@app.command("create")
def create(directory: DirOption, output: OutOption = None) -> None:
    """A new keyring with one key (refuses a directory that holds one)."""
    from vpp.bootstrap.signing import KeyringError, create_keys

    try:
        kid = create_keys(directory)
        typer.echo(f"created key {kid} in {directory}", err=True)
        if output is not None:
            _export(directory, output)
    except KeyringError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command("rotate")
def rotate(directory: DirOption, output: OutOption = None) -> None:
    """A new current key; old keys stay until no gateway pins them."""
    from vpp.bootstrap.signing import KeyringError, rotate_keys

    try:
        kid = rotate_keys(directory)
        typer.echo(f"current key is now {kid}", err=True)
        if output is not None:
            _export(directory, output)
    except KeyringError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command("export")
def export(directory: DirOption, output: OutOption = None) -> None:
    """The trusted-keys file a gateway pins (``security.command_keys_file``)."""
    from vpp.bootstrap.signing import KeyringError

    try:
        _export(directory, output)
    except KeyringError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc

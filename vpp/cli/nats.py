"""``vpp nats``: NATS identities and server configuration (see
:mod:`vpp.bootstrap.nats_security`).

- ``vpp nats init --dir SEC``: the central identities (ops, projector, dispatcher,
  observer) and the JetStream key;
- ``vpp nats add-gateway --dir SEC --gateway-id gw-7 --url tls://vpp.example:4222 -o OUT``:
  a real edge box's credentials — its seed and a ``nats:`` section for its gateway.yaml
  in ``OUT`` (copy both to the box), and the server's ``authorization`` entry printed;
- ``vpp nats server-config --dir SEC --port 4222 --store-dir D -o nats-server.conf``:
  the whole server config from every identity (restart or ``nats-server --signal reload``
  to grant or revoke);
- ``vpp nats list --dir SEC``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

SecDir = Annotated[Path, typer.Option("--dir", help="Security directory (owner-only)")]


@app.command("init")
def init(sec_dir: SecDir) -> None:
    """Create the central identities and the JetStream key (idempotent)."""
    from vpp.bootstrap.nats_security import NatsSecurity

    sec = NatsSecurity(sec_dir)
    for ident in sec.init():
        typer.echo(f"{ident.name:<12} {ident.role:<11} {ident.public_key}")
    sec.identities.jetstream_key()


@app.command("add-gateway")
def add_gateway(
    sec_dir: SecDir,
    gateway_id: Annotated[str, typer.Option("--gateway-id")],
    url: Annotated[str, typer.Option("--url", help="NATS URL the box connects to")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Directory for the box's files")],
) -> None:
    """Credentials for one gateway: seed + nats section into OUT, server entry printed."""
    import yaml

    from vpp.adapters.nats.identities import write_secret
    from vpp.bootstrap.nats_security import NatsSecurity, gateway_identity, server_snippet

    sec = NatsSecurity(sec_dir)
    ident = sec.add_gateway(gateway_id)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    seed_out = out / f"{ident.name}.nk"
    write_secret(seed_out, sec.identities.seed_file(ident.name).read_bytes())
    section = sec.client_config(gateway_identity(gateway_id), url)
    section = section.model_copy(update={"nkey_seed_file": Path(seed_out.name)})
    nats_yaml = out / "nats-section.yaml"
    data = {"nats": section.model_dump(mode="json", exclude_none=True)}
    nats_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    typer.echo(f"wrote {seed_out} (the box's secret) and {nats_yaml} (its gateway.yaml nats:)")
    typer.echo("seed path is relative: set nkey_seed_file to where the box keeps it\n")
    typer.echo("server config (or regenerate with `vpp nats server-config`):")
    typer.echo(server_snippet(ident))


@app.command("server-config")
def server_config(
    sec_dir: SecDir,
    store_dir: Annotated[Path, typer.Option("--store-dir", help="JetStream store directory")],
    out: Annotated[Path, typer.Option("-o", "--out")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 4222,
) -> None:
    """The server config of every identity; the store key stays in $VPP_JETSTREAM_KEY."""
    from vpp.adapters.nats.server_config import JETSTREAM_KEY_ENV, ServerConfigSpec
    from vpp.adapters.nats.server_config import render_server_config as render
    from vpp.bootstrap.nats_security import NatsSecurity

    security = NatsSecurity(sec_dir).server_security()
    spec = ServerConfigSpec(host=host, port=port, store_dir=store_dir, users=security.users)
    out.write_text(render(spec))
    key_file = sec_dir / "nats" / "jetstream.key"
    typer.echo(f"wrote {out}; start the server with {JETSTREAM_KEY_ENV}=$(cat {key_file})")


@app.command("list")
def list_identities(sec_dir: SecDir) -> None:
    """Every identity: name, role, gateway, public key."""
    from vpp.bootstrap.nats_security import NatsSecurity

    width = shutil.get_terminal_size().columns
    for i in NatsSecurity(sec_dir).identities.identities():
        typer.echo(f"{i.name:<24} {i.role:<11} {i.gateway_id or '-':<16} {i.public_key}"[:width])


@app.command("remove")
def remove(
    sec_dir: SecDir, name: Annotated[str, typer.Option("--name", help="Identity to revoke")]
) -> None:
    """Forget an identity (its seed too); regenerate the server config to revoke it."""
    from vpp.bootstrap.nats_security import NatsSecurity

    sec = NatsSecurity(sec_dir)
    sec.identities.get(name)  # a clear error for a name that is not there
    sec.identities.remove(name)
    typer.echo(f"removed {name}; now run `vpp nats server-config` and reload the server")

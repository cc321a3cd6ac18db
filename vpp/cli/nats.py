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
- ``vpp nats cluster-config --dir SEC --hosts h1,h2,h3 --store-dir D -o DIR``: one
  config per node of a JetStream cluster (``DIR/nats-<i>.conf``: ``deploy/nats``);
- ``vpp nats list --dir SEC``;
- ``vpp nats streams --nats-client ops.yaml [--replicas 3] [--telemetry-partitions 8]``:
  the streams and the projectors' lease bucket.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vpp.adapters.nats.subjects import MAX_TELEMETRY_PARTITIONS, TELEMETRY_PARTITIONS

if TYPE_CHECKING:
    from vpp.adapters.nats.server_config import ServerTls

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
    """Credentials for one gateway (its seed; with a CA in DIR/tls also its client
    certificate and the CA) and a gateway.yaml nats: section, into OUT; the server's
    authorization entry printed."""
    from vpp.bootstrap.nats_security import NatsSecurity, provision_gateway

    box = provision_gateway(NatsSecurity(sec_dir), gateway_id, url, out)
    for path in box.files:
        typer.echo(f"wrote {path}")
    typer.echo(f"wrote {box.nats_section} (the nats: section of the box's gateway.yaml)")
    typer.echo("its paths are file names: set them to where the box keeps the files\n")
    typer.echo("server config (or regenerate with `vpp nats server-config`):")
    typer.echo(box.server_entry)


@app.command("client-file")
def client_file(
    sec_dir: SecDir,
    name: Annotated[str, typer.Option("--name", help="projector, dispatcher, ops, observer")],
    url: Annotated[str, typer.Option("--url", help="NATS URL the process connects to")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Directory for its files")],
) -> None:
    """The files a central process needs (its seed; a TLS client certificate and the CA
    when DIR/tls has a CA) into OUT, and OUT/<name>.yaml naming them: its --nats-client."""
    import yaml

    from vpp.bootstrap.nats_security import NatsSecurity, provision

    sec = NatsSecurity(sec_dir)
    box = provision(sec, sec.identities.get(name), url, out)
    client = out / f"{name}.yaml"
    section = yaml.safe_load(box.nats_section.read_text())["nats"]
    for key in ("nkey_seed_file", "tls_ca_file", "tls_cert_file", "tls_key_file"):
        if key in section:
            section[key] = str((out / section[key]).resolve())
    client.write_text(yaml.safe_dump(section, sort_keys=False))
    typer.echo(f"wrote {client} (for --nats-client) and {len(box.files)} files in {out}")


def _server_tls(sec_dir: Path) -> ServerTls:
    """The server's TLS files in ``DIR/tls`` (a clear error when they are not there)."""
    from vpp.adapters.nats.server_config import ServerTls

    t = sec_dir / "tls"
    server_tls = ServerTls(t / "nats-server.pem", t / "nats-server-key.pem", t / "ca.pem")
    missing = [p for p in (server_tls.cert_file, server_tls.ca_file) if not p.exists()]
    if missing:
        raise typer.BadParameter(
            f"{missing[0]} is missing: `vpp tls create-ca --dir {t}` and `vpp tls issue "
            f"--dir {t} --name nats-server --san <host> --client`",
            param_hint="--tls",
        )
    return server_tls


@app.command("server-config")
def server_config(
    sec_dir: SecDir,
    store_dir: Annotated[Path, typer.Option("--store-dir", help="JetStream store directory")],
    out: Annotated[Path, typer.Option("-o", "--out")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 4222,
    tls: Annotated[
        bool, typer.Option("--tls", help="Mutual TLS with DIR/tls/nats-server.pem and ca.pem")
    ] = False,
) -> None:
    """The server config of every identity; the store key stays in $VPP_JETSTREAM_KEY."""
    from vpp.adapters.nats.server_config import JETSTREAM_KEY_ENV, ServerConfigSpec
    from vpp.adapters.nats.server_config import render_server_config as render
    from vpp.bootstrap.nats_security import NatsSecurity

    server_tls = _server_tls(sec_dir) if tls else None
    security = NatsSecurity(sec_dir).server_security(server_tls)
    spec = ServerConfigSpec(
        host=host, port=port, store_dir=store_dir, users=security.users, tls=server_tls
    )
    out.write_text(render(spec))
    key_file = sec_dir / "nats" / "jetstream.key"
    typer.echo(f"wrote {out}; start the server with {JETSTREAM_KEY_ENV}=$(cat {key_file})")


@app.command("cluster-config")
def cluster_config(
    sec_dir: SecDir,
    store_dir: Annotated[Path, typer.Option("--store-dir", help="Each node's store: D/nats-<i>")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Directory for nats-<i>.conf")],
    hosts: Annotated[
        str, typer.Option("--hosts", help="Comma-separated, one per node (repeat: one box)")
    ] = "127.0.0.1,127.0.0.1,127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Client port (4222)")] = 4222,
    route_port: Annotated[int, typer.Option("--route-port")] = 6222,
    monitor_port: Annotated[int, typer.Option("--monitor-port", help="On loopback")] = 8222,
    tls: Annotated[
        bool, typer.Option("--tls/--no-tls", help="Mutual TLS for clients and routes")
    ] = True,
) -> None:
    """Every node's config of a JetStream cluster: the users of every identity, mutual
    TLS (DIR/tls/nats-server.pem; the routes on their own CA in DIR/tls/routes, made
    here), an encrypted store each.  Streams: `vpp nats streams --replicas 3`."""
    from vpp.bootstrap.nats_security import NatsSecurity
    from vpp.bootstrap.nats_topology import cluster_configs, spread_addresses
    from vpp.bootstrap.pki import route_tls

    sec_dir, store_dir = sec_dir.resolve(), store_dir.resolve()  # the server's cwd is not ours
    addresses = spread_addresses(
        [h.strip() for h in hosts.split(",") if h.strip()], port, route_port, monitor_port
    )
    server_tls = _server_tls(sec_dir) if tls else None
    routes = route_tls(sec_dir / "tls", sorted({a.host for a in addresses})) if tls else None
    security = NatsSecurity(sec_dir).server_security(server_tls)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in cluster_configs(addresses, security, store_dir, routes).items():
        (out / f"{name}.conf").write_text(text)
        typer.echo(f"wrote {out / f'{name}.conf'}")
    key_file = sec_dir / "nats" / "jetstream.key"
    typer.echo(f"start each node with VPP_JETSTREAM_KEY=$(cat {key_file})")


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


@app.command("streams")
def streams(
    nats_client: Annotated[
        Path, typer.Option("--nats-client", help="The ops identity's client file")
    ],
    replicas: Annotated[
        int | None,
        typer.Option("--replicas", help="Copies of each stream: 3 on a 3-node cluster"),
    ] = None,
    telemetry_partitions: Annotated[
        int | None,
        typer.Option(
            "--telemetry-partitions",
            min=1,
            max=MAX_TELEMETRY_PARTITIONS,
            help="Partitions of TELEMETRY, shared by the projectors (1: not partitioned; "
            f"default: kept, {TELEMETRY_PARTITIONS} for a new stream)",
        ),
    ] = None,
) -> None:
    """Create or update every JetStream stream and the projectors' lease bucket (as ops:
    no other identity may); existing streams keep their replicas and partitions unless
    --replicas or --telemetry-partitions is given."""
    import asyncio

    from vpp.bootstrap.nats_client import settings_for
    from vpp.bootstrap.nats_cluster import provision_cluster_streams
    from vpp.bootstrap.secure_nats import ensure_streams_as

    settings = settings_for(None, nats_client)
    if replicas is not None and replicas > 1:  # a fresh cluster: wait for its meta leader
        asyncio.run(provision_cluster_streams(settings, replicas))
    names = asyncio.run(
        ensure_streams_as(settings, replicas, telemetry_partitions=telemetry_partitions)
    )
    typer.echo(f"streams up to date: {', '.join(names)}")

"""The NATS security of a deployment, generated: identities, server config, client files.

Shared by ``vpp playground`` (everything in its run directory), ``vpp nats`` (an
operator's provisioning, e.g. of a real edge gateway) and ``deploy/``.  Layout under a
security directory ``<root>``::

    nats/identities.json, nats/seeds/<name>.nk, nats/jetstream.key   (IdentityStore)
    nats/clients/<name>.yaml     a NatsConfig: url, seed file, inbox prefix, TLS files
    tls/                         the private CA and certificates, when TLS is on

A server's config is rendered from the identities each time it starts, so adding or
removing an identity and restarting (or reloading) the server is how access is granted
or revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from vpp.adapters.nats.identities import Identity, IdentityStore, write_secret
from vpp.adapters.nats.permissions import Role
from vpp.adapters.nats.server import ServerSecurity
from vpp.adapters.nats.server_config import NkeyUser, ServerTls, render_users
from vpp.config.gateway import NatsConfig

#: the central identities every deployment has (name = role)
CENTRAL_ROLES = (Role.OPS, Role.PROJECTOR, Role.DISPATCHER, Role.OBSERVER)


@dataclass(frozen=True, slots=True)
class ClientTls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def gateway_identity(gateway_id: str) -> str:
    return f"gateway-{gateway_id}"


class NatsSecurity:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.identities = IdentityStore(root / "nats")
        self.clients_dir = root / "nats" / "clients"

    def init(self, gateway_ids: tuple[str, ...] = ()) -> list[Identity]:
        """The central identities and one per gateway (idempotent)."""
        made = [self.identities.add(role.value, role) for role in CENTRAL_ROLES]
        made += [self.add_gateway(gw) for gw in gateway_ids]
        return made

    def add_gateway(self, gateway_id: str) -> Identity:
        return self.identities.add(gateway_identity(gateway_id), Role.GATEWAY, gateway_id)

    def server_security(
        self, tls: ServerTls | None = None, *, encrypted: bool = True
    ) -> ServerSecurity:
        users = tuple(
            NkeyUser(i.public_key, i.permissions, f"{i.name} ({i.role})")
            for i in self.identities.identities()
        )
        key = self.identities.jetstream_key() if encrypted else None
        return ServerSecurity(users=users, tls=tls, jetstream_key=key)

    def client_config(self, name: str, url: str, tls: ClientTls | None = None) -> NatsConfig:
        ident = self.identities.get(name)
        return NatsConfig(
            url=url,
            nkey_seed_file=self.identities.seed_file(name).resolve(),
            inbox_prefix=ident.inbox_prefix,
            tls_ca_file=tls.ca_file.resolve() if tls else None,
            tls_cert_file=tls.cert_file.resolve() if tls else None,
            tls_key_file=tls.key_file.resolve() if tls else None,
        )

    def write_client_file(self, name: str, url: str, tls: ClientTls | None = None) -> Path:
        """``nats/clients/<name>.yaml`` for ``--nats-client`` (owner-only: it names secrets)."""
        config = self.client_config(name, url, tls)
        path = self.clients_dir / f"{name}.yaml"
        data = config.model_dump(mode="json", exclude_none=True)
        write_secret(path, yaml.safe_dump(data, sort_keys=False).encode())
        return path


def server_snippet(ident: Identity) -> str:
    """The ``authorization.users`` entry of one identity, for a server config kept by hand."""
    return render_users([NkeyUser(ident.public_key, ident.permissions, ident.name)])


@dataclass(frozen=True, slots=True)
class ProvisionedBox:
    """What goes to a real edge box: its files in ``out`` and the server's entry."""

    files: list[Path]
    nats_section: Path
    server_entry: str


def provision_gateway(sec: NatsSecurity, gateway_id: str, url: str, out: Path) -> ProvisionedBox:
    """A new (or the existing) identity of a gateway, provisioned into ``out``."""
    return provision(sec, sec.add_gateway(gateway_id), url, out)


def provision(sec: NatsSecurity, ident: Identity, url: str, out: Path) -> ProvisionedBox:
    """Every file a process of ``ident`` needs on its machine — its seed and, when the
    security directory has a CA (``tls/ca.pem``), a client certificate and the CA —
    copied owner-only into ``out``, with a ``nats:`` section (for gateway.yaml, or as a
    ``--nats-client`` file) naming them by file name: the machine sets where it keeps them."""
    from vpp.adapters.tls import issue

    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    copies = {sec.identities.seed_file(ident.name): out / f"{ident.name}.nk"}
    section = sec.client_config(ident.name, url).model_copy(
        update={"nkey_seed_file": Path(f"{ident.name}.nk")}
    )
    tls_dir = sec.root / "tls"
    if (tls_dir / "ca.pem").exists():
        cert = issue(tls_dir, f"nats-{ident.name}", client=True)
        copies |= {cert.ca: out / "ca.pem", cert.cert: out / cert.cert.name}
        copies[cert.key] = out / cert.key.name
        section = section.model_copy(
            update={
                "tls_ca_file": Path("ca.pem"),
                "tls_cert_file": Path(cert.cert.name),
                "tls_key_file": Path(cert.key.name),
            }
        )
    for src, dst in copies.items():
        write_secret(dst, src.read_bytes())
    nats_section = out / "nats-section.yaml"
    data = {"nats": section.model_dump(mode="json", exclude_none=True)}
    nats_section.write_text(yaml.safe_dump(data, sort_keys=False))
    return ProvisionedBox(list(copies.values()), nats_section, server_snippet(ident))

"""A private nats-server with every connection authenticated, least privilege, encrypted
store: the NATS of ``vpp playground`` and of the tests that play attacker.

:func:`start_secure_nats` generates (or reuses) the identities under ``<run_dir>/security``,
starts the server from the rendered config, creates the streams as the ``ops`` identity
(nobody else may) and writes one client file per identity for ``--nats-client``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from vpp.adapters.nats.client import connect
from vpp.adapters.nats.server import NatsServerProcess, start_nats_server
from vpp.adapters.nats.server_config import ServerTls
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap.nats_client import client_settings
from vpp.bootstrap.nats_security import ClientTls, NatsSecurity, gateway_identity


@dataclass
class SecureNats:
    server: NatsServerProcess
    security: NatsSecurity
    clients: dict[str, Path] = field(default_factory=dict)  # identity name -> client file

    @property
    def url(self) -> str:
        return self.server.url

    def client_file(self, name: str) -> Path:
        return self.clients[name]

    def gateway_client_file(self, gateway_id: str) -> Path:
        return self.clients[gateway_identity(gateway_id)]

    def stop(self) -> None:
        self.server.stop()


@dataclass(frozen=True, slots=True)
class NatsTls:
    """The server's certificate and, per identity, a client certificate (same CA)."""

    server: ServerTls
    clients: dict[str, ClientTls]


async def provision_streams(security: NatsSecurity, url: str, tls: ClientTls | None) -> None:
    """Create or update every stream as ``ops``."""
    nc = await connect(client_settings(security.client_config("ops", url, tls)), "vpp-ops")
    try:
        await ensure_streams(nc.jetstream(timeout=10))
    finally:
        await nc.close()


def start_secure_nats(
    run_dir: Path,
    gateway_ids: tuple[str, ...],
    *,
    tls: NatsTls | None = None,
    port: int | None = None,
    encrypted: bool = True,
) -> SecureNats:
    """Identities for the central roles and ``gateway_ids``, the server, the streams."""
    security = NatsSecurity(run_dir / "security")
    security.init(gateway_ids)
    server = start_nats_server(
        run_dir / "nats",
        port=port,
        security=security.server_security(tls.server if tls else None, encrypted=encrypted),
    )
    try:
        clients = {}
        for ident in security.identities.identities():
            client_tls = tls.clients.get(ident.name) if tls else None
            clients[ident.name] = security.write_client_file(ident.name, server.url, client_tls)
        ops_tls = tls.clients.get("ops") if tls else None
        asyncio.run(provision_streams(security, server.url, ops_tls))
    except BaseException:
        server.stop()
        raise
    return SecureNats(server, security, clients)

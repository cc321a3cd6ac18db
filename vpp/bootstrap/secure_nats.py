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

from vpp.adapters.nats import subjects
from vpp.adapters.nats.client import NatsClientSettings, connect
from vpp.adapters.nats.server import NatsServerError, NatsServerProcess, start_nats_server
from vpp.adapters.nats.streams import provision
from vpp.adapters.nats.subjects import ALL_STREAMS
from vpp.bootstrap.nats_client import client_settings
from vpp.bootstrap.nats_security import ClientTls, NatsSecurity, gateway_identity
from vpp.bootstrap.pki import DeploymentPki, deployment_pki


@dataclass
class SecureNats:
    server: NatsServerProcess
    security: NatsSecurity
    clients: dict[str, Path] = field(default_factory=dict)  # identity name -> client file
    pki: DeploymentPki | None = None  # None: no TLS

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (one here)."""
        return [self.server.url]

    @property
    def nodes(self) -> list[NatsServerProcess]:
        return [self.server]

    def client_file(self, name: str) -> Path:
        return self.clients[name]

    def gateway_client_file(self, gateway_id: str) -> Path:
        return self.clients[gateway_identity(gateway_id)]

    def stop(self) -> None:
        self.server.stop()

    def restart_node(self, index: int) -> None:
        """A single server is not restarted under its clients (nothing would hold the
        streams meanwhile): only a cluster's nodes are."""
        raise NatsServerError("a single nats-server is not restarted; run a cluster")


async def ensure_streams_as(
    settings: NatsClientSettings,
    replicas: int | None = None,
    *,
    telemetry_partitions: int | None = None,
) -> list[str]:
    """Create or update every stream and the projectors' lease bucket with ``settings``
    (the ops identity); their names.  ``replicas``, ``telemetry_partitions`` None keep an
    existing stream's (a new one: 1 replica, TELEMETRY in 8 partitions)."""
    nc = await connect(settings, "vpp-ops")
    try:
        js = nc.jetstream(timeout=10)
        await provision(js, replicas=replicas, telemetry_partitions=telemetry_partitions)
    finally:
        await nc.close()
    return [spec.name for spec in ALL_STREAMS] + [subjects.kv_stream(subjects.LEASES_BUCKET)]


async def provision_streams(security: NatsSecurity, url: str, tls: ClientTls | None) -> None:
    """Create or update every stream as ``ops``."""
    await ensure_streams_as(client_settings(security.client_config("ops", url, tls)))


def start_secure_nats(
    run_dir: Path,
    gateway_ids: tuple[str, ...],
    *,
    tls: bool = True,
    port: int | None = None,
    encrypted: bool = True,
) -> SecureNats:
    """Identities for the central roles and ``gateway_ids``, certificates on a private CA
    (mutual TLS: a client needs one), the server, the streams, the client files."""
    security = NatsSecurity(run_dir / "security")
    names = [i.name for i in security.init(gateway_ids)]
    pki = deployment_pki(security.root / "tls", names) if tls else None
    server_security = security.server_security(
        pki.server_tls() if pki else None, encrypted=encrypted
    )
    server = start_nats_server(run_dir / "nats", port=port, security=server_security)
    try:
        clients = {}
        for name in names:
            client_tls = pki.client_tls(name) if pki else None
            clients[name] = security.write_client_file(name, server.url, client_tls)
        ops_tls = pki.client_tls("ops") if pki else None
        asyncio.run(provision_streams(security, server.url, ops_tls))
    except BaseException:
        server.stop()
        raise
    return SecureNats(server, security, clients, pki)

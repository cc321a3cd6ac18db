"""A NATS JetStream cluster of N nodes with the security of :mod:`secure_nats`: every
node with the same nkey users, mutual TLS for clients, TLS on the routes (on their own
CA, :func:`pki.route_tls`), its own encrypted store; the streams at replicas 3.

:func:`cluster_topologies` is the one source of the nodes' names, routes and ports, for
:func:`start_secure_nats_cluster` (the playground's ``--nats-nodes 3`` and the tests:
every node on loopback, its own ports) and for ``vpp nats cluster-config`` (``deploy/``:
one node per machine).  Client files carry every node's URL, so a process reconnects to
a surviving node when its own dies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vpp.adapters.nats.client import NatsClientSettings, connect
from vpp.adapters.nats.monitor import NodeStream, node_streams
from vpp.adapters.nats.server import (
    NatsServerError,
    NatsServerProcess,
    ServerSecurity,
    ServerTopology,
    free_port,
    start_nats_server,
)
from vpp.adapters.nats.server_config import ClusterSpec, ServerTls
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap.nats_client import client_settings
from vpp.bootstrap.nats_security import NatsSecurity, gateway_identity
from vpp.bootstrap.pki import DeploymentPki, deployment_pki, route_tls

CLUSTER_NAME = "vpp"
#: a stream's copies: 3 survive one node down (a quorum of 2 keeps accepting)
MAX_REPLICAS = 3
#: a fresh cluster elects its JetStream meta leader within a few seconds
META_LEADER_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class NodeAddress:
    name: str  # "nats-1": the server_name, the store directory's name
    host: str
    port: int  # clients
    route_port: int
    monitor_port: int | None = None

    def url(self, tls: bool) -> str:
        return f"{'tls' if tls else 'nats'}://{self.host}:{self.port}"

    @property
    def route_url(self) -> str:
        return f"nats://{self.host}:{self.route_port}"


def loopback_addresses(nodes: int, host: str = "127.0.0.1") -> list[NodeAddress]:
    """``nodes`` nodes on one machine: each its own free client, route, monitoring port."""
    return [
        NodeAddress(f"nats-{i}", host, free_port(host), free_port(host), free_port(host))
        for i in range(1, nodes + 1)
    ]


def cluster_topologies(
    addresses: Sequence[NodeAddress], routes_tls: ServerTls | None, name: str = CLUSTER_NAME
) -> list[ServerTopology]:
    """Each node's name, its route listener and the routes to every other node."""
    return [
        ServerTopology(
            server_name=a.name,
            cluster=ClusterSpec(
                name=name,
                host=a.host,
                port=a.route_port,
                routes=[o.route_url for o in addresses if o is not a],
                tls=routes_tls,
            ),
            monitor_port=a.monitor_port,
        )
        for a in addresses
    ]


def replicas_for(nodes: int) -> int:
    return min(nodes, MAX_REPLICAS)


@dataclass
class ClusterNode:
    """One node: started, stopped, killed and started again on its ports and store."""

    address: NodeAddress
    store_dir: Path
    security: ServerSecurity
    topology: ServerTopology
    tls: bool
    process: NatsServerProcess | None = None

    @property
    def name(self) -> str:
        return self.address.name

    @property
    def url(self) -> str:
        return self.address.url(self.tls)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def log_file(self) -> Path:
        return self.store_dir / "nats-server.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def start(self, ready_timeout: float = 15.0) -> NatsServerProcess:
        """Start the node (again: same ports, same store; it catches up from the others)."""
        if self.alive():
            raise NatsServerError(f"{self.name} is running (pid {self.pid})")
        self.process = start_nats_server(
            self.store_dir,
            port=self.address.port,
            host=self.address.host,
            ready_timeout=ready_timeout,
            security=self.security,
            topology=self.topology,
        )
        return self.process

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            self.process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()

    def streams(self) -> dict[str, NodeStream]:
        """The streams as this node stores them (its monitoring port)."""
        if self.address.monitor_port is None:
            raise NatsServerError(f"{self.name} has no monitoring port")
        return node_streams(self.address.host, self.address.monitor_port)


@dataclass
class SecureNatsCluster:
    nodes: list[ClusterNode]
    security: NatsSecurity
    clients: dict[str, Path] = field(default_factory=dict)  # identity name -> client file
    pki: DeploymentPki | None = None  # None: no TLS

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """The first node's URL (the client files hold all of them)."""
        return self.urls[0]

    @property
    def client_url(self) -> str:
        """Every node, comma-separated: the ``url`` of a client file or gateway.yaml."""
        return ",".join(self.urls)

    @property
    def replicas(self) -> int:
        return replicas_for(len(self.nodes))

    def client_file(self, name: str) -> Path:
        return self.clients[name]

    def gateway_client_file(self, gateway_id: str) -> Path:
        return self.clients[gateway_identity(gateway_id)]

    def processes(self) -> list[dict[str, object]]:
        """``{"name", "role", "pid"}`` of every running node (the playground's info.json)."""
        return [{"name": n.name, "role": "nats", "pid": n.pid} for n in self.nodes if n.alive()]

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


async def provision_cluster_streams(settings: NatsClientSettings, replicas: int) -> None:
    """As ops: wait for the JetStream meta leader, then create or update every stream at
    ``replicas`` (a stream of 3 copies also waits until every node joined the leader)."""
    deadline = time.monotonic() + META_LEADER_TIMEOUT_S
    nc = await connect(settings, "vpp-ops", max_reconnect_attempts=-1)
    try:
        js = nc.jetstream(timeout=5)
        while True:
            try:
                await js.account_info()  # answered once the cluster has a meta leader
                await ensure_streams(js, replicas=replicas)
                return
            except Exception as exc:  # no leader yet, or too few peers known to it
                if time.monotonic() > deadline:
                    raise NatsServerError(f"JetStream cluster not ready: {exc}") from exc
                await asyncio.sleep(0.5)
    finally:
        await nc.close()


def start_secure_nats_cluster(
    run_dir: Path,
    gateway_ids: tuple[str, ...],
    *,
    nodes: int = 3,
    tls: bool = True,
    encrypted: bool = True,
) -> SecureNatsCluster:
    """:func:`secure_nats.start_secure_nats` for ``nodes`` nodes on loopback: identities,
    certificates, every node (store ``<run_dir>/nats-<i>``), the streams at replicas 3,
    the client files (every node's URL)."""
    if nodes < 1:
        raise NatsServerError("a cluster needs at least one node")
    security = NatsSecurity(run_dir / "security")
    names = [i.name for i in security.init(gateway_ids)]
    pki = deployment_pki(security.root / "tls", names) if tls else None
    routes = route_tls(security.root / "tls") if tls else None
    server_security = security.server_security(
        pki.server_tls() if pki else None, encrypted=encrypted
    )
    addresses = loopback_addresses(nodes)
    cluster = SecureNatsCluster(
        [
            ClusterNode(a, run_dir / a.name, server_security, topology, tls)
            for a, topology in zip(addresses, cluster_topologies(addresses, routes), strict=True)
        ],
        security,
        pki=pki,
    )
    try:
        for node in cluster.nodes:
            node.start()
        for name in names:
            client_tls = pki.client_tls(name) if pki else None
            cluster.clients[name] = security.write_client_file(name, cluster.client_url, client_tls)
        ops = client_settings(
            security.client_config(
                "ops", cluster.client_url, pki.client_tls("ops") if pki else None
            )
        )
        asyncio.run(provision_cluster_streams(ops, cluster.replicas))
    except BaseException:
        cluster.stop()
        raise
    return cluster

"""A NATS JetStream cluster of N nodes with the security of :mod:`secure_nats`: every
node with the same nkey users, mutual TLS for clients, TLS on the routes (on their own
CA, :func:`pki.route_tls`), its own encrypted store; the streams at replicas 3.

:func:`start_secure_nats_cluster` (the playground's ``--nats-nodes 3`` and the tests)
runs every node on loopback, each on its own ports, from the topology of
:mod:`nats_topology` (which ``vpp nats cluster-config`` writes for ``deploy/``).  Client
files carry every node's URL, so a process reconnects to a surviving node when its own
dies.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from vpp.adapters.nats.client import NatsClientSettings, connect
from vpp.adapters.nats.lease import ensure_lease_bucket
from vpp.adapters.nats.monitor import NodeStream, client_names, node_streams
from vpp.adapters.nats.server import (
    NatsServerError,
    NatsServerProcess,
    ServerSecurity,
    ServerTopology,
    start_nats_server,
)
from vpp.adapters.nats.server_config import MONITOR_HOST
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap.nats_client import client_settings
from vpp.bootstrap.nats_security import NatsSecurity, gateway_identity
from vpp.bootstrap.nats_topology import (
    NodeAddress,
    cluster_topologies,
    loopback_addresses,
    replicas_for,
)
from vpp.bootstrap.pki import DeploymentPki, deployment_pki, route_tls

#: a fresh cluster elects its JetStream meta leader within a few seconds
META_LEADER_TIMEOUT_S = 30.0


@dataclass
class ClusterNode:
    """One node: started, stopped, killed and started again on its ports and store.
    Read like a :class:`NatsServerProcess` (``pid``, ``alive()``, ``log_file``,
    ``process``: the Popen of its current run, ``url``)."""

    address: NodeAddress
    store_dir: Path
    security: ServerSecurity
    topology: ServerTopology
    tls: bool
    server: NatsServerProcess | None = None  # its current (or last) run

    @property
    def name(self) -> str:
        return self.address.name

    @property
    def url(self) -> str:
        return self.address.url(self.tls)

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self.server is None:
            raise NatsServerError(f"{self.name} was never started")
        return self.server.process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_file(self) -> Path:
        return self.store_dir / "nats-server.log"

    def alive(self) -> bool:
        return self.server is not None and self.server.alive()

    def start(self, ready_timeout: float = 15.0) -> NatsServerProcess:
        """Start the node (again: same ports, same store; it catches up from the others)."""
        if self.alive():
            raise NatsServerError(f"{self.name} is running (pid {self.pid})")
        self.server = start_nats_server(
            self.store_dir,
            port=self.address.port,
            host=self.address.host,
            ready_timeout=ready_timeout,
            security=self.security,
            topology=self.topology,
        )
        return self.server

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL; the PID reaped."""
        if self.server is not None:
            self.server.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.server is not None:
            self.server.kill()

    def streams(self) -> dict[str, NodeStream]:
        """The streams as this node stores them (its monitoring port)."""
        return node_streams(MONITOR_HOST, self._monitor_port())

    def clients(self) -> list[str]:
        """The connection names of the clients on this node (its monitoring port)."""
        return client_names(MONITOR_HOST, self._monitor_port())

    def _monitor_port(self) -> int:
        if self.address.monitor_port is None:
            raise NatsServerError(f"{self.name} has no monitoring port")
        return self.address.monitor_port


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

    def restart_node(self, index: int) -> None:
        """Start ``nodes[index]`` again (it died or was stopped): same ports, same store."""
        self.nodes[index].start()

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
                await ensure_lease_bucket(js, replicas=replicas)
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

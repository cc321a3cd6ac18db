"""The shape of a NATS cluster: its nodes' names, addresses, routes; the one source for
:func:`nats_cluster.start_secure_nats_cluster` (every node on loopback) and for
``vpp nats cluster-config`` (``deploy/nats``: one config file per node, each node on its
own machine, or all on one with their ports apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vpp.adapters.nats.server import ServerSecurity, ServerTopology, free_port
from vpp.adapters.nats.server_config import (
    ClusterSpec,
    ServerConfigSpec,
    ServerTls,
    render_server_config,
)

CLUSTER_NAME = "vpp"
#: a stream's copies: 3 survive one node down (a quorum of 2 keeps accepting)
MAX_REPLICAS = 3


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


def spread_addresses(
    hosts: Sequence[str], port: int = 4222, route_port: int = 6222, monitor_port: int = 8222
) -> list[NodeAddress]:
    """One node per host on the standard ports; nodes sharing a host get the next ports
    (``nats-2`` on 4223, 6223, 8223: a cluster on one machine)."""
    seen: dict[str, int] = {}
    out = []
    for i, host in enumerate(hosts, start=1):
        k = seen[host] = seen.get(host, -1) + 1
        out.append(NodeAddress(f"nats-{i}", host, port + k, route_port + k, monitor_port + k))
    return out


def cluster_configs(
    addresses: Sequence[NodeAddress],
    security: ServerSecurity,
    store_root: Path,
    routes_tls: ServerTls | None,
) -> dict[str, str]:
    """Each node's config text by node name (its store ``<store_root>/<name>``, the store
    key from ``$VPP_JETSTREAM_KEY`` as on a single server)."""
    out = {}
    for a, topology in zip(addresses, cluster_topologies(addresses, routes_tls), strict=True):
        spec = ServerConfigSpec(
            host=a.host,
            port=a.port,
            store_dir=store_root / a.name,
            users=security.users,
            tls=security.tls,
            encrypted=security.jetstream_key is not None,
            server_name=topology.server_name,
            cluster=topology.cluster,
            monitor_port=topology.monitor_port,
        )
        out[a.name] = render_server_config(spec)
    return out

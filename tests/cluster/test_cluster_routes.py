"""Every stream of the cluster at three replicas, one copy on each node; and the routes
of the cluster admit nodes only: a server presenting a gateway's client
certificate (signed by the clients' CA) is refused as a route; the same server with the
nodes' route certificate joins (the control: the refusal is the certificate's doing)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.harness.wait import wait_until
from vpp.adapters.nats.client import connect
from vpp.adapters.nats.server import (
    NatsServerProcess,
    ServerTopology,
    free_port,
    start_nats_server,
)
from vpp.adapters.nats.server_config import MONITOR_HOST, ClusterSpec, ServerTls
from vpp.adapters.nats.subjects import ALL_STREAMS, LEASES_BUCKET
from vpp.bootstrap.nats_client import settings_for
from vpp.bootstrap.nats_cluster import SecureNatsCluster, start_secure_nats_cluster
from vpp.bootstrap.nats_security import gateway_identity
from vpp.bootstrap.nats_topology import CLUSTER_NAME
from vpp.bootstrap.pki import ROUTE_CA_DIR, ROUTE_CERT
from vpp.cli import app

GW = "gw-rogue"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SecureNatsCluster]:
    c = start_secure_nats_cluster(tmp_path / "run", (GW,))
    yield c
    c.stop()


def routes_of(monitor_port: int) -> int:
    """The servers a node is routed to (a route pool has several connections to each)."""
    url = f"http://{MONITOR_HOST}:{monitor_port}/routez"
    with urllib.request.urlopen(url, timeout=2) as r:
        return len({route["remote_id"] for route in json.load(r)["routes"]})


def joining(tmp: Path, cluster: SecureNatsCluster, cert: Path, key: Path) -> NatsServerProcess:
    """A server that tries to join the cluster as a route to its first node."""
    routes_ca = cluster.security.root / "tls" / ROUTE_CA_DIR / "ca.pem"
    spec = ClusterSpec(
        CLUSTER_NAME,
        "127.0.0.1",
        free_port(),
        routes=[cluster.nodes[0].address.route_url],
        tls=ServerTls(cert, key, routes_ca),
    )
    topology = ServerTopology(server_name=tmp.name, cluster=spec, monitor_port=free_port())
    return start_nats_server(tmp, topology=topology)


def test_a_gateway_certificate_cannot_join_as_a_route(
    cluster: SecureNatsCluster, tmp_path: Path
) -> None:
    first = cluster.nodes[0]
    monitor = first.address.monitor_port
    assert monitor is not None
    assert routes_of(monitor) == len(cluster.nodes) - 1
    assert cluster.pki is not None
    gw = cluster.pki.nats_clients[gateway_identity(GW)]
    rogue = joining(tmp_path / "rogue", cluster, gw.cert, gw.key)
    try:
        wait_until(
            lambda: "TLS route handshake error" in first.log_file.read_text(),
            15,
            0.1,
            what="the node did not refuse the gateway's certificate",
        )
        assert routes_of(monitor) == len(cluster.nodes) - 1
    finally:
        rogue.stop()
    routes_dir = cluster.security.root / "tls" / ROUTE_CA_DIR
    node = joining(
        tmp_path / "node",
        cluster,
        routes_dir / f"{ROUTE_CERT}.pem",
        routes_dir / f"{ROUTE_CERT}-key.pem",
    )
    try:
        wait_until(lambda: routes_of(monitor) == len(cluster.nodes), 15, 0.1, what="no route")
    finally:
        node.stop()


async def test_every_stream_has_three_replicas_one_on_each_node(
    cluster: SecureNatsCluster,
) -> None:
    names = {s.name for s in ALL_STREAMS} | {f"KV_{LEASES_BUCKET}"}  # the leases' bucket too
    for node in cluster.nodes:
        assert set(node.streams()) == names, node.name
    ops_file = cluster.client_file("ops")
    assert all(url in ops_file.read_text() for url in cluster.urls)
    nc = await connect(settings_for(None, ops_file), "test-ops")
    try:
        for name in names:
            info = await nc.jetstream().stream_info(name)
            assert info.config.num_replicas == 3, name
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2, name
    finally:
        await nc.close()
    cmd = ["nats", "streams", "--nats-client", str(ops_file), "--replicas", "3"]
    result = await asyncio.to_thread(CliRunner().invoke, app, cmd)
    assert result.exit_code == 0, result.output
    assert "streams up to date" in result.output

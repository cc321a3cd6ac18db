"""The cluster tests' helpers: which node a client is on, a stream leader moved to a
node, a stream read message by message (as ops: it may not ack), a node's catch-up."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from vpp.adapters.nats import codec
from vpp.adapters.nats.monitor import MonitorError
from vpp.bootstrap.nats_cluster import ClusterNode, SecureNatsCluster


def node_of(cluster: SecureNatsCluster, nc: Client) -> ClusterNode:
    """The node ``nc`` is connected to."""
    url = nc.connected_url
    assert url is not None, "not connected"
    port = urlsplit(url.geturl() if hasattr(url, "geturl") else str(url)).port
    return next(n for n in cluster.nodes if n.address.port == port)


async def stream_leader(ops: Client, stream: str) -> str | None:
    info = await ops.jetstream().stream_info(stream)
    return info.cluster.leader if info.cluster else None


async def step_down_to(ops: Client, stream: str, node: str) -> None:
    """Ask the stream's leader to hand over to ``node`` (as ops), unless it leads."""
    if await stream_leader(ops, stream) == node:
        return
    body = json.dumps({"placement": {"preferred": node}}).encode()
    reply = await ops.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", body, timeout=10)
    answer = json.loads(reply.data)
    assert answer.get("success"), answer


async def telemetry_keys(ops: Client, stream: str) -> Counter[tuple[str, datetime]]:
    """Every reading's (der_id, ts) in ``stream``, counted, read by sequence."""
    js = ops.jetstream(timeout=10)
    info = await js.stream_info(stream)
    keys: Counter[tuple[str, datetime]] = Counter()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        assert msg.data is not None
        for r in codec.decode_telemetry(msg.data).readings:
            keys[(r.der_id, r.ts)] += 1
    return keys


def last_seqs(node: ClusterNode, stream: str) -> int | None:
    """The last sequence of ``node``'s own copy of ``stream`` (None: not readable yet)."""
    try:
        s = node.streams().get(stream)
    except MonitorError:
        return None
    return s.last_seq if s is not None else None


#: the connection names of the processes under test (each may carry an instance suffix)
PROCESSES = ("vpp-gateway", "vpp-projector", "vpp-dispatcher")


def placement(nodes: list[ClusterNode]) -> dict[str, list[str]]:
    """Which of :data:`PROCESSES` each running node serves, by node name."""
    out: dict[str, list[str]] = {}
    for node in nodes:
        try:
            names = node.clients()
        except MonitorError:
            continue
        out[node.name] = sorted({p for p in PROCESSES for n in names if n.startswith(p)})
    return out

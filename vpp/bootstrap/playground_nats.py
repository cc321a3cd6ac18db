"""The playground's NATS: one secure nats-server, or a JetStream cluster of secure nodes
on loopback (``--nats-nodes 3``), seen through one shape by the steps that use it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from vpp.bootstrap.nats_cluster import SecureNatsCluster, start_secure_nats_cluster
from vpp.bootstrap.secure_nats import SecureNats, start_secure_nats

Nats = SecureNats | SecureNatsCluster
Echo = Callable[..., None]


class NatsNode(Protocol):
    """What the playground needs of one node (a server of either kind)."""

    @property
    def url(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def process(self) -> subprocess.Popen[bytes]: ...
    @property
    def log_file(self) -> Path: ...
    def alive(self) -> bool: ...


def nodes_of(nats: Nats) -> Sequence[NatsNode]:
    return nats.nodes


def start_nats(run_dir: Path, echo: Echo, gateways: list[str], nodes: int) -> Nats:
    """nats-server with nkey identities, least privilege and an encrypted store; with
    ``nodes`` > 1 a JetStream cluster on loopback (routes on their own CA), streams at
    replicas 3."""
    nats: Nats
    if nodes > 1:
        nats = start_secure_nats_cluster(run_dir, tuple(gateways), nodes=nodes)
    else:
        nats = start_secure_nats(run_dir, tuple(gateways))
    n = len(nats.security.identities.identities())
    for i, node in enumerate(nodes_of(nats), 1):
        name = "nats-server" if nodes == 1 else f"nats-{i}"
        echo(f"  {name:<16} {node.url} (pid {node.pid}, {n} identities, encrypted)")
    return nats

"""The CA's certificates on a real nats-server: client TLS with verified client
certificates, and cluster routes over TLS with dual-use (serverAuth + clientAuth)
certificates, as nats-server's ``tls { cert_file key_file ca_file verify }`` takes them."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from tests.harness.wait import wait_until
from vpp.adapters.nats.server import free_port, nats_server_binary
from vpp.adapters.tls import client_context, create_ca, issue
from vpp.runtime import stop_processes


@dataclass
class Node:
    port: int
    monitor: int
    log: Path

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def routes(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/routez", timeout=2) as r:
            return int(json.load(r)["num_routes"])


def _tls(pki: Path, cert: str) -> str:
    return (
        f'tls {{ cert_file: "{pki / cert}.pem", key_file: "{pki / cert}-key.pem", '
        f'ca_file: "{pki / "ca.pem"}", verify: true }}'
    )


@contextmanager
def cluster(tmp: Path, pki: Path, route_cert: str) -> Iterator[list[Node]]:
    """Two nats-servers, clients on TLS with verify, routed to each other over TLS."""
    cluster_ports = [free_port(), free_port()]
    nodes = [Node(free_port(), free_port(), tmp / f"n{i}.log") for i in range(2)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i, node in enumerate(nodes):
            conf = tmp / f"n{i}.conf"
            conf.write_text(
                f"listen: 127.0.0.1:{node.port}\nhttp: 127.0.0.1:{node.monitor}\n"
                f"server_name: n{i}\n{_tls(pki, 'nats')}\n"
                f"cluster {{ name: c, listen: 127.0.0.1:{cluster_ports[i]}, "
                f'routes: ["nats://127.0.0.1:{cluster_ports[1 - i]}"], {_tls(pki, route_cert)} }}\n'
            )
            cmd = [nats_server_binary(), "-c", str(conf), "-l", str(node.log)]
            procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True))
        for node in nodes:
            wait_until(lambda n=node: _up(n), 15, 0.1, what="nats-server did not start")
        yield nodes
    finally:
        stop_processes(procs)


def _up(node: Node) -> bool:
    try:
        node.routes()
    except OSError:
        return False
    return True


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca = tmp_path / "pki"
    create_ca(ca)
    issue(ca, "nats", server_sans=["127.0.0.1", "localhost"], client=True)  # server + route
    issue(ca, "server-only", server_sans=["127.0.0.1"])
    issue(ca, "app", client=True)
    create_ca(tmp_path / "other")
    issue(tmp_path / "other", "app", client=True)
    return ca


async def _connect(url: str, **tls: object) -> nats.NATS:
    return await nats.connect(
        url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0, **tls
    )


async def test_clients_and_routes_over_tls(tmp_path: Path, pki: Path) -> None:
    with cluster(tmp_path, pki, "nats") as nodes:
        await asyncio.to_thread(
            wait_until, lambda: all(n.routes() >= 1 for n in nodes), 15, 0.1, what="no route"
        )
        ctx = client_context(pki / "ca.pem", cert=pki / "app.pem", key=pki / "app-key.pem")
        sub_nc = await _connect(nodes[1].url, tls=ctx, tls_hostname="127.0.0.1")
        pub_nc = await _connect(nodes[0].url, tls=ctx, tls_hostname="127.0.0.1")
        try:
            sub = await sub_nc.subscribe("tls.check")
            await sub_nc.flush()
            got: list[bytes] = []

            async def delivered() -> bool:  # across the route: published on n0, read on n1
                await pub_nc.publish("tls.check", b"over tls")
                try:
                    got.append((await sub.next_msg(timeout=0.5)).data)
                except TimeoutError:
                    return False
                return True

            for _ in range(20):
                if await delivered():
                    break
            assert got[:1] == [b"over tls"]
        finally:
            await pub_nc.close()
            await sub_nc.close()
        other = tmp_path / "other"
        refused: list[tuple[ssl.SSLContext, type[OSError] | tuple[type[OSError], ...]]] = [
            # the server refuses (a TLS alert "certificate required" or "unknown ca", or, when
            # the client is still writing, the hang-up): no client certificate, another CA's
            (client_context(pki / "ca.pem"), (ssl.SSLError, ConnectionError)),
            (
                client_context(pki / "ca.pem", cert=other / "app.pem", key=other / "app-key.pem"),
                (ssl.SSLError, ConnectionError),
            ),
            (
                client_context(other / "ca.pem", cert=pki / "app.pem", key=pki / "app-key.pem"),
                ssl.SSLCertVerificationError,  # the client does not trust the server
            ),
        ]
        for ctx, error in refused:
            with pytest.raises(error):
                nc = await _connect(nodes[0].url, tls=ctx, tls_hostname="127.0.0.1")
                await nc.close()


def test_a_server_only_certificate_cannot_carry_a_route(tmp_path: Path, pki: Path) -> None:
    with cluster(tmp_path, pki, "server-only") as nodes:
        wait_until(
            lambda: (
                "incompatible key usage" in nodes[0].log.read_text()
                or "incompatible key usage" in nodes[1].log.read_text()
            ),
            15,
            0.1,
            what="no key usage error in the nats-server logs",
        )
        assert nodes[0].routes() == 0 and nodes[1].routes() == 0

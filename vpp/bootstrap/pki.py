"""The certificates of a deployment on one private CA (``vpp.adapters.tls``): one server
certificate for nats-server (dual-use, so it can serve cluster routes too), one for the
HTTP API, and a client certificate per NATS identity (its common name is the identity).

``vpp playground`` and the tests that attack TLS make theirs with :func:`deployment_pki`
under ``<security dir>/tls``; a production CA is the operator's (docs/security.md).

The routes of a NATS cluster get a CA of their own (:func:`route_tls`, under
``tls/routes``): a route is admitted by its certificate alone, so a CA that also signs
every gateway's client certificate would let any gateway join the cluster as a node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vpp.adapters.nats.server_config import ServerTls
from vpp.adapters.tls import CertFiles, create_ca, issue
from vpp.bootstrap.nats_security import ClientTls

LOOPBACK_SANS = ("127.0.0.1", "localhost")


@dataclass(frozen=True, slots=True)
class DeploymentPki:
    ca_file: Path
    nats_server: CertFiles
    api_server: CertFiles
    nats_clients: dict[str, CertFiles]

    def server_tls(self) -> ServerTls:
        s = self.nats_server
        return ServerTls(cert_file=s.cert, key_file=s.key, ca_file=s.ca, verify=True)

    def client_tls(self, name: str) -> ClientTls:
        c = self.nats_clients[name]
        return ClientTls(ca_file=c.ca, cert_file=c.cert, key_file=c.key)


def deployment_pki(
    tls_dir: Path, nats_identities: Iterable[str], sans: Iterable[str] = LOOPBACK_SANS
) -> DeploymentPki:
    """A new CA in ``tls_dir`` (an existing one is reused) and every certificate."""
    ca_file = tls_dir / "ca.pem"
    if not ca_file.exists():
        create_ca(tls_dir, "vpp playground CA")
    names = list(sans)
    return DeploymentPki(
        ca_file=ca_file,
        nats_server=issue(tls_dir, "nats-server", server_sans=names, client=True),
        api_server=issue(tls_dir, "api-server", server_sans=names),
        nats_clients={n: issue(tls_dir, f"nats-{n}", client=True) for n in nats_identities},
    )


ROUTE_CA_DIR = "routes"
ROUTE_CERT = "nats-route"


def route_tls(tls_dir: Path, sans: Iterable[str] = LOOPBACK_SANS) -> ServerTls:
    """The routes' CA in ``tls_dir/routes`` (an existing one is reused) and the nodes'
    dual-use route certificate, issued anew: every node presents it, verifies the others'."""
    where = tls_dir / ROUTE_CA_DIR
    if not (where / "ca.pem").exists():
        create_ca(where, "vpp NATS routes CA")
    c = issue(where, ROUTE_CERT, server_sans=list(sans), client=True)
    return ServerTls(cert_file=c.cert, key_file=c.key, ca_file=c.ca, verify=True)

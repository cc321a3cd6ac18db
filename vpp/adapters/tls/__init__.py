"""TLS: a private certificate authority for the playground and tests, and TLS contexts.

``create_ca`` makes a CA (``ca.pem``, ``ca-key.pem``); ``issue`` signs server, client or
dual-use certificates with it (a nats-server route certificate needs both); the context
helpers turn the files into ``ssl.SSLContext`` objects for servers (optionally requiring
client certificates) and clients (trusting the CA, optionally presenting a certificate).
Built with ``cryptography``'s X.509 builder; private keys are written owner-only (0600).
"""

from __future__ import annotations

from vpp.adapters.tls.ca import (
    CA_CERT,
    CA_KEY,
    DEFAULT_SERVER_SANS,
    CertFiles,
    TlsError,
    create_ca,
    issue,
)
from vpp.adapters.tls.contexts import client_context, server_context

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "DEFAULT_SERVER_SANS",
    "CertFiles",
    "TlsError",
    "client_context",
    "create_ca",
    "issue",
    "server_context",
]

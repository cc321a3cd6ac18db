"""``ssl.SSLContext`` objects from certificate files: TLS 1.2 at least, the CA pinned.

A server context may require client certificates signed by a CA (mutual TLS); a client
context trusts only the given CA (not the system's), checks the server's name against its
SANs, and may present a client certificate.  nats-py takes a client context as
``nats.connect(..., tls=ctx)``; httpx as ``httpx.Client(verify=ctx)``.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from vpp.adapters.tls.ca import TlsError


def _load_chain(ctx: ssl.SSLContext, cert: str | Path, key: str | Path) -> None:
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load certificate {cert} with key {key}: {exc}") from exc


def _trust(ctx: ssl.SSLContext, ca: str | Path) -> None:
    try:
        ctx.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load CA certificate {ca}: {exc}") from exc


def server_context(
    cert: str | Path, key: str | Path, *, client_ca: str | Path | None = None
) -> ssl.SSLContext:
    """A server's context; with ``client_ca``, clients must present a certificate it signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(ctx, cert, key)
    if client_ca is not None:
        _trust(ctx, client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(
    ca: str | Path, *, cert: str | Path | None = None, key: str | Path | None = None
) -> ssl.SSLContext:
    """A client's context trusting ``ca`` alone; ``cert`` and ``key`` for mutual TLS."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _trust(ctx, ca)
    if (cert is None) != (key is None):
        raise TlsError("a client certificate needs its key (and the key its certificate)")
    if cert is not None and key is not None:
        _load_chain(ctx, cert, key)
    return ctx

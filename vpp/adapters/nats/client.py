"""How a vpp process connects to NATS: its identity (nkey seed file), its private inbox
prefix, TLS (the CA to trust, its client certificate), or the legacy user/password/token.

:func:`connect` is the one place that turns :class:`NatsClientSettings` into
``nats.connect`` options; every process (gateway, projector, dispatcher, scripts) uses it.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from vpp.domain.errors import VppError

log = logging.getLogger(__name__)


class _HarmlessTlsEof(logging.Filter):
    """asyncio warns "returning true from eof_received() has no effect when using ssl"
    whenever a TLS connection of nats-py's protocol closes; nothing is lost (the client
    reconnects or was closing). Dropped so it does not read as a fault in every log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received()" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_HarmlessTlsEof())


class NatsClientError(VppError):
    """Settings a client cannot connect with (a missing or unreadable file)."""


@dataclass(frozen=True, slots=True)
class NatsClientSettings:
    url: str = "nats://127.0.0.1:4222"
    nkey_seed_file: Path | None = None
    inbox_prefix: str | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds_file: Path | None = None

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]


def tls_context(s: NatsClientSettings) -> ssl.SSLContext | None:
    """A client context trusting only ``tls_ca_file`` (with the client certificate), or
    None when the settings have no TLS."""
    if s.tls_ca_file is None:
        if s.tls_cert_file is not None or any(u.startswith("tls://") for u in s.servers):
            raise NatsClientError("TLS to NATS needs tls_ca_file (the CA to trust)")
        return None
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(s.tls_ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if s.tls_cert_file is not None:
        key = str(s.tls_key_file) if s.tls_key_file is not None else None
        ctx.load_cert_chain(str(s.tls_cert_file), key)
    return ctx


def _seed(s: NatsClientSettings) -> str | None:
    if s.nkey_seed_file is None:
        return None
    try:
        return s.nkey_seed_file.read_text().strip()
    except OSError as exc:
        raise NatsClientError(f"cannot read nkey seed {s.nkey_seed_file}: {exc}") from None


def connect_options(s: NatsClientSettings) -> dict[str, Any]:
    """The ``nats.connect`` keyword arguments of ``s`` (servers included)."""
    options: dict[str, Any] = {"servers": s.servers}
    seed = _seed(s)
    if seed is not None:
        options["nkeys_seed_str"] = seed
    if s.inbox_prefix is not None:
        options["inbox_prefix"] = s.inbox_prefix
    ctx = tls_context(s)
    if ctx is not None:
        options["tls"] = ctx
    for key in ("user", "password", "token"):
        if getattr(s, key) is not None:
            options[key] = getattr(s, key)
    if s.creds_file is not None:
        options["user_credentials"] = str(s.creds_file)
    return options


async def connect(s: NatsClientSettings, name: str, **kwargs: Any) -> Client:
    """``nats.connect`` with the identity, inbox and TLS of ``s``; ``kwargs`` add to
    (never remove) the connection's options, e.g. reconnect and callbacks."""
    return await nats.connect(**connect_options(s), name=name, **kwargs)


def as_settings(nats_: NatsClientSettings | str) -> NatsClientSettings:
    """A bare URL is an anonymous client (tests of open servers, old configs)."""
    return NatsClientSettings(url=nats_) if isinstance(nats_, str) else nats_


async def log_nats_error(exc: Exception) -> None:
    """The ``error_cb`` of central processes: a permissions violation is the server
    refusing something this process tried — an operator must see it."""
    text = str(exc)
    if "ermission" in text or "uthorization" in text:
        log.warning("NATS refused: %s", text, extra={"event": "nats_permission_violation"})
    else:
        log.debug("NATS: %s", text)

"""The NATS client settings of a process: from ``gateway.yaml``'s ``nats:`` section, from a
client file written by ``vpp nats`` (same fields), or from a bare ``--nats URL``."""

from __future__ import annotations

from pathlib import Path

from vpp.adapters.nats.client import NatsClientSettings
from vpp.config.gateway import NatsConfig
from vpp.config.loader import load_yaml


def client_settings(n: NatsConfig) -> NatsClientSettings:
    return NatsClientSettings(
        url=n.url,
        nkey_seed_file=n.nkey_seed_file,
        inbox_prefix=n.inbox_prefix,
        tls_ca_file=n.tls_ca_file,
        tls_cert_file=n.tls_cert_file,
        tls_key_file=n.tls_key_file,
        user=n.user,
        password=n.password,
        token=n.token,
        creds_file=n.creds_file,
    )


def settings_for(url: str | None, client_file: Path | None) -> NatsClientSettings:
    """``--nats-client FILE`` (its url unless ``--nats`` overrides it) or ``--nats URL``."""
    if client_file is None:
        return NatsClientSettings(url=url or NatsConfig().url)
    config = load_yaml(client_file, NatsConfig)
    if url is not None:
        config = config.model_copy(update={"url": url})
    return client_settings(config)

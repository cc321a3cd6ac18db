"""NATS clients of a secure test server, each with one identity, recording what the
server refused (a publish outside the allow list is dropped and reported only through
the error callback: FACTS.md)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client

from vpp.adapters.nats.client import connect
from vpp.bootstrap.nats_client import settings_for
from vpp.bootstrap.secure_nats import SecureNats


@dataclass
class Refusals:
    errors: list[str] = field(default_factory=list)

    async def record(self, exc: Exception) -> None:
        self.errors.append(str(exc))

    def violations(self, subject: str) -> list[str]:
        return [e for e in self.errors if "violation" in e and subject.lower() in e.lower()]


@contextlib.asynccontextmanager
async def client_as(
    nats: SecureNats, name: str, client_file: Path | None = None
) -> AsyncIterator[tuple[Client, Refusals]]:
    """A connection as identity ``name`` (or with ``client_file``), with its refusals."""
    refusals = Refusals()
    settings = settings_for(None, client_file or nats.client_file(name))
    nc = await connect(settings, f"test-{name}", error_cb=refusals.record, allow_reconnect=False)
    try:
        yield nc, refusals
    finally:
        await nc.close()


async def stream_count(nc: Client, stream: str) -> int:
    """Messages in ``stream`` (as an identity allowed STREAM.INFO)."""
    info = await nc.jetstream().stream_info(stream)
    return int(info.state.messages)

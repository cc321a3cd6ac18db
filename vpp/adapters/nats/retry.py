"""JetStream API requests that a cluster answers late while it elects a leader: a node
just died, a stream or the meta group is choosing another leader (seconds).  A process
starting in that window retries with a growing pause instead of dying on the first
``nats: timeout``, and says so in its log; after ``deadline_s`` the error is raised."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors

log = logging.getLogger(__name__)

T = TypeVar("T")

#: what an election or a lost node looks like to a client (not a refusal, not a bug)
TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
)


async def retrying(call: Callable[[], Awaitable[T]], what: str, *, deadline_s: float = 60.0) -> T:
    """``await call()``, again after a transient JetStream error until ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    pause = 0.25
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning(
                "%s: %s (JetStream electing a leader?), again in %.1f s",
                what,
                type(exc).__name__,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)

"""The gateway's connection to NATS: started even when the server is down, reconnects
forever, and says whether the uplink is up and since when it is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.js import JetStreamContext

from vpp.adapters.nats.client import NatsClientError, NatsClientSettings, connect

log = logging.getLogger(__name__)


class NatsUplink:
    """Owns one ``nats.aio.client.Client``; :meth:`start` returns at once and connects in
    the background (an edge box boots before its uplink does)."""

    def __init__(
        self,
        settings: NatsClientSettings | str,
        *,
        name: str = "vpp-gateway",
        retry_s: float = 0.5,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(settings, str):
            settings = NatsClientSettings(url=settings)
        self.settings = settings
        self.on_refused = on_refused  # "permission" / "authorization": the server said no
        self.url = settings.url
        self.name = name
        self.retry_s = retry_s
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._up = asyncio.Event()
        self._down_since: float | None = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def down_for_s(self) -> float:
        """Seconds the uplink has been down (0 while it is up)."""
        if self.connected or self._down_since is None:
            return 0.0
        return time.monotonic() - self._down_since

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="nats-uplink")

    async def _on_disconnected(self) -> None:
        self._up.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
        if not self._closing:
            log.warning("NATS uplink lost (%s)", self.url)

    async def _on_reconnected(self) -> None:
        self._down_since = None
        self._up.set()
        log.info("NATS uplink back (%s)", self.url)

    async def _on_error(self, exc: Exception) -> None:
        # a permissions violation is the server refusing something this gateway tried:
        # a misconfiguration (or a tampered binary) an operator must see
        text = str(exc)
        if "ermission" in text:
            log.warning("NATS refused: %s", text, extra={"event": "nats_permission_violation"})
            if self.on_refused is not None:
                self.on_refused("permission")
        else:
            log.debug("NATS: %s", text)

    async def _connect_forever(self) -> None:
        while True:
            try:
                nc = await connect(
                    self.settings,
                    self.name,
                    connect_timeout=2,
                    reconnect_time_wait=self.retry_s,
                    max_reconnect_attempts=-1,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
            except NatsClientError:
                raise
            except Exception as exc:  # no server yet (or not this identity yet): keep trying
                refused = "uthorization" in str(exc)
                if refused and self.on_refused is not None:
                    self.on_refused("authorization")
                log.log(
                    logging.WARNING if refused else logging.DEBUG,
                    "NATS connect to %s failed: %s",
                    self.url,
                    exc,
                )
                await asyncio.sleep(5.0 if refused else self.retry_s)
                continue
            self.nc = nc
            self.js = nc.jetstream(timeout=5)
            self._down_since = None
            self._up.set()
            return

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.close(), 5)
            except (TimeoutError, Exception) as exc:
                log.debug("NATS close: %s", exc)
        self._up.clear()

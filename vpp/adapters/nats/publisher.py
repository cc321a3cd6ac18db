"""Publish telemetry and acks to JetStream.

Telemetry is write-ahead: :meth:`NatsTelemetryPublisher.publish_readings` encodes the
batch, stores it in the :class:`DiskTelemetryBuffer` and returns; a forwarder task sends
buffered batches in order (a window of ``publish_async`` with a timeout around each
future, since nats-py gives them none) and deletes them once JetStream acknowledged them.
While the uplink is down the buffer simply grows (within its bound).  Every message has a
deterministic ``Nats-Msg-Id``, so a batch re-sent after a lost ack is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.buffer import BufferedBatch, DiskTelemetryBuffer
from vpp.adapters.nats.uplink import NatsUplink
from vpp.application.ports import GatewayMetrics
from vpp.domain.commands import CommandAck
from vpp.domain.errors import VppError
from vpp.domain.telemetry import DeviceHealth, Reading

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
MAX_READINGS_PER_MESSAGE = 500


class PublishError(VppError):
    """JetStream did not acknowledge a message in time."""


class NatsTelemetryPublisher:
    def __init__(
        self,
        uplink: NatsUplink,
        buffer: DiskTelemetryBuffer,
        metrics: GatewayMetrics | None = None,
        *,
        window: int = 64,
        ack_timeout_s: float = 5.0,
    ) -> None:
        self.uplink = uplink
        self.buffer = buffer
        self.metrics = metrics
        self.window = window
        self.ack_timeout_s = ack_timeout_s
        self.delivered_readings = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._update_gauges()

    # -- the port -----------------------------------------------------------------------

    async def publish_readings(
        self, gateway_id: str, readings: Sequence[Reading], health: Sequence[DeviceHealth] = ()
    ) -> None:
        """Buffer the batch; health statements ride in its first message (in order with
        the readings, through the same store-and-forward)."""
        subject = subjects.telemetry(gateway_id)
        for i in range(0, max(len(readings), 1 if health else 0), MAX_READINGS_PER_MESSAGE):
            chunk = readings[i : i + MAX_READINGS_PER_MESSAGE]
            said = health if i == 0 else ()
            payload = codec.encode_telemetry(gateway_id, chunk, said)
            dropped = self.buffer.append(
                subject, codec.telemetry_msg_id(gateway_id, chunk, said), payload, len(chunk)
            )
            if dropped:
                log.warning("telemetry buffer full: dropped %d oldest readings", dropped)
                if self.metrics:
                    self.metrics.count_buffer_dropped(dropped)
        self._update_gauges()
        self._wake.set()

    # -- the forwarder ----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._forward_forever(), name="telemetry-forwarder")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def flush(self, timeout: float) -> bool:
        """Wait until the buffer is empty (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while self.buffer.depth_batches and time.monotonic() < deadline:
            self._wake.set()
            await asyncio.sleep(0.02)
        return self.buffer.depth_batches == 0

    async def _forward_forever(self) -> None:
        while True:
            batches = self.buffer.oldest(self.window)
            if not batches:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            if not self.uplink.connected or self.uplink.js is None:
                await asyncio.sleep(0.1)
                continue
            try:
                sent = await self._send(batches)
            except Exception as exc:  # never let the forwarder die
                log.warning("telemetry forward failed: %s", exc)
                sent = []
            if sent:
                self.buffer.remove(sent)
                now = time.time()
                for b in sent:
                    self.delivered_readings += b.readings
                    if self.metrics:
                        self.metrics.observe_publish_lag(max(0.0, now - b.created))
                self._update_gauges()
            if len(sent) < len(batches):
                await asyncio.sleep(0.2)

    async def _send(self, batches: list[BufferedBatch]) -> list[BufferedBatch]:
        """Send a window; return the acknowledged prefix (order is kept on retry)."""
        js = self.uplink.js
        assert js is not None
        futures = []
        for b in batches:
            fut = await js.publish_async(
                b.subject, b.payload, wait_stall=self.ack_timeout_s, headers={MSG_ID: b.msg_id}
            )
            futures.append(fut)
        sent: list[BufferedBatch] = []
        for b, fut in zip(batches, futures, strict=True):
            try:
                await asyncio.wait_for(fut, self.ack_timeout_s)
            except Exception as exc:
                log.info("telemetry batch %s not acknowledged: %s", b.msg_id, exc)
                for rest in futures[len(sent) + 1 :]:
                    rest.cancel()
                break
            sent.append(b)
        return sent

    def _update_gauges(self) -> None:
        if self.metrics:
            self.metrics.set_buffer(self.buffer.depth_readings, self.buffer.depth_bytes)


class NatsAckPublisher:
    """Acks go straight to JetStream; if that fails the command message is not acked and
    comes again, and the ledger answers it with the same ack (same ``Nats-Msg-Id``)."""

    def __init__(self, uplink: NatsUplink, *, timeout_s: float = 5.0) -> None:
        self.uplink = uplink
        self.timeout_s = timeout_s

    async def publish_ack(self, ack: CommandAck) -> None:
        js = self.uplink.js
        if js is None or not self.uplink.connected:
            raise PublishError(f"uplink down, ack for {ack.command_id} not published")
        try:
            await js.publish(
                subjects.ack(ack.gateway_id, ack.der_id),
                codec.encode_ack(ack),
                timeout=self.timeout_s,
                headers={MSG_ID: codec.ack_msg_id(ack)},
            )
        except Exception as exc:
            raise PublishError(f"ack for {ack.command_id} not published: {exc}") from exc

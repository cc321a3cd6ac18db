"""Feed a projection from a durable JetStream pull consumer.

One durable consumer per projection (``ack_policy=all``: acking the last message of a
fetched batch acks the batch).  Messages are acked only after the projection committed,
so a crash redelivers them; the projection skips what its stored position already holds.
A message that cannot be decoded is published to the dead-letter subject with the reason
and then acked: it never stops the projection.  A new consumer (or a rebuilt database)
starts right after the store's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from vpp.adapters.nats import codec, subjects
from vpp.application.projector import Projection

log = logging.getLogger(__name__)

Decoder = Callable[[bytes, str], Sequence[Any]]


def decode_telemetry(data: bytes, subject: str) -> Sequence[Any]:
    return codec.decode_telemetry(data).readings


def decode_ack(data: bytes, subject: str) -> Sequence[Any]:
    return (codec.decode_ack(data),)


def decode_command(data: bytes, subject: str) -> Sequence[Any]:
    parts = subject.split(".")
    if len(parts) != 4:
        raise codec.CodecError("command", f"unexpected subject {subject!r}")
    return (codec.decode_command(data, parts[2]),)


class JetStreamProjectionFeed:
    def __init__(
        self,
        js: JetStreamContext,
        projection: Projection,
        decoder: Decoder,
        *,
        batch: int = 200,
        fetch_timeout: float = 1.0,
    ) -> None:
        self.js = js
        self.projection = projection
        self.decoder = decoder
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.durable = f"proj-{projection.name}"
        self.dead_letters = 0
        self.failures = 0

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        stream = self.projection.stream
        try:
            await self.js.consumer_info(stream, self.durable)
        except NotFoundError:
            start = await self.projection.position() + 1
            config = ConsumerConfig(
                durable_name=self.durable,
                ack_policy=AckPolicy.ALL,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                max_ack_pending=-1,
                ack_wait=60.0,
            )
            await self.js.add_consumer(stream, config)
        return await self.js.pull_subscribe_bind(self.durable, stream=stream)

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._subscribe()
        try:
            await self._loop(sub, stop)
        finally:
            await self.projection.flush()

    async def _loop(self, sub: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.DrainTimeoutError):
                return
            if msgs:
                await self._handle_until_done(msgs, stop)

    async def _handle_until_done(self, msgs: Sequence[Any], stop: asyncio.Event) -> None:
        """Retry the same batch with backoff while the store is away (acking a later
        message would ack this one too); the writes are idempotent, retries are safe."""
        delay = 0.5
        while True:
            try:
                await self.handle(msgs)
                if self.failures:
                    log.info("projection %s: store back, batch committed", self.durable)
                    self.failures = 0
                return
            except Exception as exc:
                self.failures += 1
                log.warning(
                    "projection %s: batch failed (%s), retry in %.1f s", self.durable, exc, delay
                )
                if stop.is_set():
                    return  # not acked: redelivered to the next run
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 15.0)

    async def handle(self, msgs: Sequence[Any]) -> None:
        batch: list[tuple[int, Sequence[Any]]] = []
        last_seq = 0
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            last_seq = max(last_seq, seq)
            try:
                batch.append((seq, self.decoder(msg.data, msg.subject)))
            except codec.CodecError as exc:
                await self._dead_letter(msg, exc.reason)
        await self.projection.project(batch, last_seq)
        await msgs[-1].ack()

    async def _dead_letter(self, msg: Any, reason: str) -> None:
        self.dead_letters += 1
        log.warning(
            "dead-lettering %s seq %s: %s", msg.subject, msg.metadata.sequence.stream, reason
        )
        await self.js.publish(
            subjects.dead_letter(self.projection.stream),
            codec.dead_letter_payload(msg.subject, reason, msg.data),
            headers={"Nats-Msg-Id": f"dl-{self.projection.stream}-{msg.metadata.sequence.stream}"},
        )


class NatsChangePublisher:
    """Publish canal-json change records on ``vpp.change.<table>``."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish_changes(self, changes: Sequence[dict[str, Any]]) -> None:
        import json

        futures = [
            await self.js.publish_async(
                subjects.change(ch["table"]), json.dumps(ch, separators=(",", ":")).encode()
            )
            for ch in changes
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=10.0)

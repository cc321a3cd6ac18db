"""Feed a projection from a durable JetStream pull consumer.

One durable consumer per projection (``ack_policy=all``: acking the last message of a
fetched batch acks the batch).  Messages are acked only after the projection committed,
so a crash redelivers them; the projection skips what its stored position already holds.
A message that cannot be decoded is published to the dead-letter subject with the reason
and then acked: it never stops the projection.  So are the items the projection refuses
to admit (telemetry of DERs not registered behind the sending gateway): the rest of
their message is projected, the dead letter holds the refused items and why.  A new
consumer (or a rebuilt database) starts right after the store's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import nats.errors
import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from vpp.adapters.nats import codec, subjects
from vpp.application.ports import ChangeRecord, ProjectorMetrics
from vpp.application.projector import Projection
from vpp.application.telemetry_binding import Refusal
from vpp.domain.commands import CommandAck, SetpointCommand
from vpp.domain.telemetry import TelemetryItem

log = logging.getLogger(__name__)

Item = TypeVar("Item")
#: decodes one message's payload (and subject) into the items it carries
Decoder = Callable[[bytes, str], Sequence[Item]]
#: a message's payload narrowed to the items of the refused keys (its dead letter)
Narrower = Callable[[bytes, Container[str]], bytes]


def decode_telemetry(data: bytes, subject: str) -> Sequence[TelemetryItem]:
    """The readings and health statements of a message, whose ``gateway_id`` must be its
    subject's gateway."""
    gateway = subjects.gateway_of(subject)
    if not gateway:
        raise codec.CodecError("telemetry", f"unexpected subject {subject!r}")
    _, rows, health = codec.decode_telemetry_items(data, gateway)
    if not health:
        return rows
    items: list[TelemetryItem] = [*rows, *health]
    return items


def _whole(data: bytes, keys: Container[str]) -> bytes:
    return data


def decode_ack(data: bytes, subject: str) -> Sequence[CommandAck]:
    return (codec.decode_ack(data),)


def decode_command(data: bytes, subject: str) -> Sequence[SetpointCommand]:
    parts = subject.split(".")
    if len(parts) != 4:
        raise codec.CodecError("command", f"unexpected subject {subject!r}")
    return (codec.decode_command(data, parts[2]),)


@dataclass(frozen=True, slots=True)
class _Fetched(Generic[Item]):
    batch: list[tuple[int, Sequence[Item]]]  # (stream sequence, decoded items)
    last_seq: int  # dead-lettered messages included
    last_msg: Msg  # acking it acks the whole batch (AckPolicy.ALL)


class JetStreamProjectionFeed(Generic[Item]):
    """Feeds one projection from its stream's durable pull consumer."""

    def __init__(
        self,
        js: JetStreamContext,
        projection: Projection[Item],
        decoder: Decoder[Item],
        *,
        batch: int = 200,
        fetch_timeout: float = 1.0,
        prefetch: int = 2,
        narrow: Narrower = _whole,
        filter_subjects: Sequence[str] = (),
        metrics: ProjectorMetrics | None = None,
    ) -> None:
        self.js = js
        self.projection = projection
        self.decoder = decoder
        self.narrow = narrow
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.prefetch = prefetch
        self.durable = f"proj-{projection.name}"
        self.filter_subjects = list(filter_subjects)  # a partition's; none: the whole stream
        self.metrics = metrics
        self.dead_letters = 0
        self.failures = 0

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """A fresh durable consumer starting right after the store's position.

        The store is the truth: a consumer left by an earlier run may hold messages
        delivered but never acked (a crash between fetch and commit), which JetStream would
        redeliver only after ``ack_wait`` — after newer ones had moved the position past
        them.  Recreating the consumer at the position means nothing is skipped.
        """
        stream = self.projection.stream
        start = await self.projection.position() + 1
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(stream, self.durable)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            max_ack_pending=-1,
            ack_wait=60.0,
            filter_subjects=self.filter_subjects or None,
        )
        await self.js.add_consumer(stream, config)
        return await self.js.pull_subscribe_bind(self.durable, stream=stream)

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._until_done("subscribe", self._subscribe, stop)
        if sub is None:
            return
        try:
            await self._loop(sub, stop)
        finally:
            try:
                await self.projection.flush()
            except Exception as exc:  # what is not rolled up now is on the next run
                log.warning("projection %s: final flush failed (%s)", self.durable, exc)

    async def _until_done(
        self, what: str, step: Callable[[], Awaitable[Any]], stop: asyncio.Event
    ) -> Any:
        """``step()`` retried with backoff while the store or NATS is away; ``None`` when
        stopped first."""
        delay = 0.5
        while not stop.is_set():
            try:
                return await step()
            except Exception as exc:
                log.warning(
                    "projection %s: %s failed (%s), retry in %.1f s", self.durable, what, exc, delay
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 15.0)
        return None

    async def _loop(self, sub: Any, stop: asyncio.Event) -> None:
        """Fetch and decode up to ``prefetch`` batches ahead while the current one is
        written: the database works (in its thread or its server) while this decodes."""
        queue: asyncio.Queue[_Fetched[Item] | None] = asyncio.Queue()
        room = asyncio.Semaphore(self.prefetch)
        reader = asyncio.create_task(
            self._read(sub, stop, queue, room), name=f"{self.durable}-read"
        )
        try:
            while (fetched := await queue.get()) is not None:
                if not await self._handle_until_done(fetched, stop):
                    return  # stopping with the store away: the rest is redelivered next run
                room.release()
            await reader  # it ended: stopped, NATS closed, or a failure that must surface
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(
        self,
        sub: Any,
        stop: asyncio.Event,
        queue: asyncio.Queue[_Fetched[Item] | None],
        room: asyncio.Semaphore,
    ) -> None:
        try:
            while not stop.is_set():
                await room.acquire()
                try:
                    msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
                except (TimeoutError, nats.errors.TimeoutError):
                    room.release()
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.DrainTimeoutError):
                    return
                except nats.errors.Error as exc:  # reconnecting: nats-py comes back by itself
                    room.release()
                    log.warning("projection %s: fetch failed (%s)", self.durable, exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=0.5)
                    continue
                if not msgs:
                    room.release()
                elif (fetched := await self._decode(msgs, stop)) is not None:
                    queue.put_nowait(fetched)
                else:  # stopped while the registry was away: redelivered next run
                    return
        finally:
            queue.put_nowait(None)  # unbounded: never blocks, wakes the writer

    async def _decode(self, msgs: Sequence[Msg], stop: asyncio.Event) -> _Fetched[Item] | None:
        """Decoded and admitted items of ``msgs``; ``None`` when stopped while the
        projection could not decide what to admit (its registry away)."""
        batch: list[tuple[int, Sequence[Item]]] = []
        last_seq = 0
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            last_seq = max(last_seq, seq)
            try:
                items = self.decoder(msg.data, msg.subject)
            except codec.CodecError as exc:
                await self._dead_letter_until_done(msg, exc.reason)
                continue
            source = subjects.gateway_of(msg.subject)
            admitted = await self._until_done(
                "admit", functools.partial(self.projection.admit, source, items), stop
            )
            if admitted is None:
                return None
            kept, refusal = admitted
            if refusal is not None:
                await self._refuse(msg, refusal)
            batch.append((seq, kept))
        return _Fetched(batch, last_seq, msgs[-1])

    async def _refuse(self, msg: Any, refusal: Refusal) -> None:
        try:
            payload = self.narrow(msg.data, refusal.keys)
        except (codec.CodecError, ValueError):  # cannot happen for what was decoded
            payload = msg.data
        await self._dead_letter_until_done(
            msg, refusal.reason, payload, refused=refusal.items, der_ids=refusal.keys
        )

    async def _dead_letter_until_done(
        self,
        msg: Any,
        reason: str,
        payload: bytes | None = None,
        *,
        refused: int = 0,
        der_ids: frozenset[str] = frozenset(),
    ) -> None:
        """A dead letter is published before its batch is acked; while NATS is away the
        publish is retried (its message id makes a repeat a no-op)."""
        delay = 0.5
        while True:
            try:
                await self._dead_letter(msg, reason, msg.data if payload is None else payload)
                break
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("projection %s: dead letter not published (%s)", self.durable, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
        self.dead_letters += 1
        if self.metrics is not None:
            self.metrics.count_dead_letter(self.projection.name)
        log.warning(
            "projection %s: dead letter %d (%s) subject=%s seq=%s refused_items=%d: %s",
            self.durable,
            self.dead_letters,
            "refused" if refused else "undecodable",
            msg.subject,
            msg.metadata.sequence.stream,
            refused,
            reason,
            extra={
                "event": "dead_letter",
                "projection": self.projection.name,
                "kind": "refused" if refused else "undecodable",
                "subject": msg.subject,
                "stream_seq": msg.metadata.sequence.stream,
                "refused_items": refused,
                "reason": reason,
                "dead_letters": self.dead_letters,
                "gateway_id": subjects.gateway_of(msg.subject),
                **({"der_id": next(iter(der_ids))} if len(der_ids) == 1 else {}),
                **({"der_ids": sorted(der_ids)[:20]} if len(der_ids) > 1 else {}),
            },
        )

    async def _handle_until_done(self, fetched: _Fetched[Item], stop: asyncio.Event) -> bool:
        """Retry the same batch with backoff while the store is away (acking a later
        message would ack this one too); the writes are idempotent, retries are safe.
        False when stopped before the batch was committed."""
        delay = 0.5
        while True:
            try:
                await self.projection.project(fetched.batch, fetched.last_seq)
                await fetched.last_msg.ack()
                if self.failures:
                    log.info("projection %s: store back, batch committed", self.durable)
                    self.failures = 0
                return True
            except Exception as exc:
                self.failures += 1
                log.warning(
                    "projection %s: batch failed (%s), retry in %.1f s", self.durable, exc, delay
                )
                if stop.is_set():
                    return False  # not acked: redelivered to the next run
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 15.0)

    async def _dead_letter(self, msg: Any, reason: str, payload: bytes) -> None:
        await self.js.publish(
            subjects.dead_letter(self.projection.stream),
            codec.dead_letter_payload(msg.subject, reason, payload),
            headers={"Nats-Msg-Id": f"dl-{self.projection.stream}-{msg.metadata.sequence.stream}"},
        )


class NatsChangePublisher:
    """Publish canal-json change records on ``vpp.change.<table>``."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish_changes(self, changes: Sequence[ChangeRecord]) -> None:
        futures = [
            await self.js.publish_async(subjects.change(str(ch["table"])), orjson.dumps(ch))
            for ch in changes
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=10.0)

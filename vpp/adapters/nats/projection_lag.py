"""How far a projection is behind its stream, sampled for the metrics: the last sequence
of its messages (the stream's; a partition's: of its subjects) minus the projection's
committed one (``lag``), and what its durable consumer has not delivered yet
(``num_pending``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from vpp.application.ports import ProjectorMetrics

log = logging.getLogger(__name__)


async def sample_lag(
    js: JetStreamContext,
    feed: Any,  # a JetStreamProjectionFeed (any item type)
    metrics: ProjectorMetrics,
    stop: asyncio.Event,
    *,
    every_s: float = 2.0,
) -> None:
    """Sample every ``every_s`` until ``stop``; the gauges go when it ends (the
    projection may be handed to another process)."""
    name, stream = feed.projection.name, feed.projection.stream
    try:
        while not stop.is_set():
            try:
                last = await _last_seq(js, stream, feed.filter_subjects)
                consumer = await js.consumer_info(stream, feed.durable)
                position = await feed.projection.position()
                metrics.set_position(name, max(0, last - position), int(consumer.num_pending or 0))
            except Exception as exc:  # not subscribed yet, or NATS away: next time
                log.debug("projection %s: lag not sampled (%s)", name, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
    finally:
        metrics.forget(name)


async def _last_seq(js: JetStreamContext, stream: str, filters: list[str]) -> int:
    if not filters:
        info = await js.stream_info(stream)
        return int(info.state.last_seq or 0)
    last = 0
    for subject in filters:
        with contextlib.suppress(NotFoundError):  # nothing of it stored (yet)
            msg = await js.get_last_msg(stream, subject)
            last = max(last, int(msg.seq or 0))
    return last

"""Create or update the JetStream streams of :data:`subjects.ALL_STREAMS`.

File storage, limits retention, each stream's ``max_age`` and a 2-minute
``duplicate_window`` (the ``Nats-Msg-Id`` dedupe horizon).  Idempotent: every process
that publishes may call :func:`ensure_streams` at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from vpp.adapters.nats.subjects import ALL_STREAMS, StreamSpec

DUPLICATE_WINDOW_S = 120.0


def stream_config(spec: StreamSpec, max_age_s: float | None = None) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age_s if max_age_s is not None else spec.max_age_s,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


async def ensure_stream(
    js: JetStreamContext,
    spec: StreamSpec,
    max_age_s: float | None = None,
    *,
    update_existing: bool = True,
) -> None:
    config = stream_config(spec, max_age_s)
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    if update_existing:
        await js.update_stream(config)


async def ensure_streams(
    js: JetStreamContext,
    specs: Iterable[StreamSpec] = ALL_STREAMS,
    max_age_s: dict[str, float] | None = None,
    *,
    update_existing: bool = True,
) -> None:
    """Create missing streams, bring existing ones to the configured limits.

    ``max_age_s`` overrides the default age per stream name (e.g. ``{"TELEMETRY": 86400}``).
    ``update_existing=False`` only creates what is missing (a gateway must not override
    what the operator configured centrally).
    """
    overrides = max_age_s or {}
    for spec in specs:
        await ensure_stream(js, spec, overrides.get(spec.name), update_existing=update_existing)

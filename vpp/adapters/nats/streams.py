"""Create or update the JetStream streams of :data:`subjects.ALL_STREAMS`.

File storage, limits retention, each stream's ``max_age`` and a 2-minute
``duplicate_window`` (the ``Nats-Msg-Id`` dedupe horizon).  Idempotent: every process
that publishes may call :func:`ensure_streams` at start-up.  ``replicas`` is 1 on a
single server, 3 on a 3-node cluster (each message stored on every node; a stream keeps
accepting with one node down); consumers inherit it.  ``replicas=None`` leaves an
existing stream's replicas as they are (a process that is not ops does not decide them).
"""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from vpp.adapters.nats.subjects import ALL_STREAMS, StreamSpec

DUPLICATE_WINDOW_S = 120.0


def stream_config(
    spec: StreamSpec, max_age_s: float | None = None, *, replicas: int = 1
) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age_s if max_age_s is not None else spec.max_age_s,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )


async def ensure_stream(
    js: JetStreamContext,
    spec: StreamSpec,
    max_age_s: float | None = None,
    *,
    update_existing: bool = True,
    replicas: int | None = None,
) -> None:
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(stream_config(spec, max_age_s, replicas=replicas or 1))
        return
    if update_existing:
        keep = info.config.num_replicas or 1
        await js.update_stream(stream_config(spec, max_age_s, replicas=replicas or keep))


async def ensure_streams(
    js: JetStreamContext,
    specs: Iterable[StreamSpec] = ALL_STREAMS,
    max_age_s: dict[str, float] | None = None,
    *,
    update_existing: bool = True,
    replicas: int | None = None,
) -> None:
    """Create missing streams, bring existing ones to the configured limits.

    ``max_age_s`` overrides the default age per stream name (e.g. ``{"TELEMETRY": 86400}``).
    ``update_existing=False`` only creates what is missing (a gateway must not override
    what the operator configured centrally).  ``replicas``: see the module's docstring.
    """
    overrides = max_age_s or {}
    for spec in specs:
        await ensure_stream(
            js, spec, overrides.get(spec.name), update_existing=update_existing, replicas=replicas
        )

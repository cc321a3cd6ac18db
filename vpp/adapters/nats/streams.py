"""Create or update the JetStream streams of :data:`subjects.ALL_STREAMS`.

File storage, limits retention, each stream's ``max_age`` and a 2-minute
``duplicate_window`` (the ``Nats-Msg-Id`` dedupe horizon).  Idempotent: every process
that publishes may call :func:`ensure_streams` at start-up.  ``replicas`` is 1 on a
single server, 3 on a 3-node cluster (each message stored on every node; a stream keeps
accepting with one node down); consumers inherit it.  ``replicas=None`` leaves an
existing stream's replicas as they are (a process that is not ops does not decide them).

TELEMETRY may be partitioned: a subject transform stores ``vpp.telemetry.<gw>`` as
``vpp.telemetry.<gw>.<p>`` with ``p`` a stable hash of the gateway among ``P``
partitions, so that projectors can share it (one durable consumer per partition).  The
stream is the one source of ``P`` (:func:`telemetry_partitions`); ``partitions=None``
leaves an existing stream's as they are (1 for a new one).  The lease bucket
(:mod:`vpp.adapters.nats.lease`) is provisioned beside the streams (:func:`provision`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from vpp.adapters.nats import subjects
from vpp.adapters.nats.retry import retrying
from vpp.adapters.nats.subjects import ALL_STREAMS, StreamSpec

DUPLICATE_WINDOW_S = 120.0
_PARTITIONS = re.compile(r"partition\((\d+),")


def stream_config(
    spec: StreamSpec, max_age_s: float | None = None, *, replicas: int = 1, partitions: int = 1
) -> StreamConfig:
    """``partitions`` (TELEMETRY only): more than one stores each message under its
    gateway's partition."""
    transform = None
    if spec.name == subjects.TELEMETRY.name and partitions > 1:
        if partitions > subjects.MAX_TELEMETRY_PARTITIONS:
            raise ValueError(f"at most {subjects.MAX_TELEMETRY_PARTITIONS} partitions")
        transform = SubjectTransform(
            src=subjects.TELEMETRY_PARTITION_SOURCE,
            dest=subjects.telemetry_partition_dest(partitions),
        )
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
        subject_transform=transform,
    )


def _partitions_of(config: StreamConfig) -> int:
    transform = config.subject_transform
    found = _PARTITIONS.search(transform.dest or "") if transform is not None else None
    return int(found.group(1)) if found else 1


async def ensure_stream(
    js: JetStreamContext,
    spec: StreamSpec,
    max_age_s: float | None = None,
    *,
    update_existing: bool = True,
    replicas: int | None = None,
    partitions: int | None = None,
) -> None:
    try:
        info = await retrying(lambda: js.stream_info(spec.name), f"stream {spec.name}")
    except NotFoundError:
        config = stream_config(spec, max_age_s, replicas=replicas or 1, partitions=partitions or 1)
        await js.add_stream(config)
        return
    if update_existing:
        keep = info.config.num_replicas or 1
        parts = partitions or _partitions_of(info.config)
        config = stream_config(spec, max_age_s, replicas=replicas or keep, partitions=parts)
        await js.update_stream(config)


async def ensure_streams(
    js: JetStreamContext,
    specs: Iterable[StreamSpec] = ALL_STREAMS,
    max_age_s: dict[str, float] | None = None,
    *,
    update_existing: bool = True,
    replicas: int | None = None,
    telemetry_partitions: int | None = None,
) -> None:
    """Create missing streams, bring existing ones to the configured limits.

    ``max_age_s`` overrides the default age per stream name (e.g. ``{"TELEMETRY": 86400}``).
    ``update_existing=False`` only creates what is missing (a gateway must not override
    what the operator configured centrally).  ``replicas``, ``telemetry_partitions``: see
    the module's docstring.
    """
    overrides = max_age_s or {}
    for spec in specs:
        await ensure_stream(
            js,
            spec,
            overrides.get(spec.name),
            update_existing=update_existing,
            replicas=replicas,
            partitions=telemetry_partitions,
        )


async def telemetry_partitions(js: JetStreamContext) -> int:
    """The partition count of the TELEMETRY stream (1: not partitioned)."""
    return _partitions_of((await js.stream_info(subjects.TELEMETRY.name)).config)


async def provision(
    js: JetStreamContext, *, replicas: int | None = None, telemetry_partitions: int | None = None
) -> None:
    """What ops provisions: every stream and the projectors' lease bucket.  A new
    TELEMETRY gets :data:`subjects.TELEMETRY_PARTITIONS` partitions unless told; an
    existing one keeps its partitions (and every stream its replicas) unless told."""
    if telemetry_partitions is None:
        try:
            await js.stream_info(subjects.TELEMETRY.name)
        except NotFoundError:
            telemetry_partitions = subjects.TELEMETRY_PARTITIONS
    from vpp.adapters.nats.lease import ensure_lease_bucket

    await ensure_streams(js, replicas=replicas, telemetry_partitions=telemetry_partitions)
    await ensure_lease_bucket(js, replicas or 1)

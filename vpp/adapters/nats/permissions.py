"""What each kind of process may do on NATS: the least-privilege permission sets.

One function per role, from the subjects of :mod:`subjects` and the JetStream API
subjects a client of that role sends (FACTS.md, "NATS authentication").  Every identity
gets its own inbox prefix (``_INBOX.<name>``) and may subscribe only below it, so no one
reads another's replies; nobody may subscribe to ``_INBOX.>``.

- **gateway** ``<gw>``: publishes its telemetry and acks and dead-lettered commands; pulls
  from its own durable command consumer (``gateway-<gw>``, created only with its own
  filter ``vpp.command.<gw>.*``: the server checks the filter in the request subject
  against the one in the body).  It cannot publish a command, another gateway's
  telemetry, or read another gateway's commands.
- **projector**: reads TELEMETRY, COMMANDS and ACKS through its ``proj-<name>`` durable
  consumers (each named: a NATS wildcard is a whole token; one per telemetry partition,
  up to :data:`subjects.MAX_TELEMETRY_PARTITIONS`), publishes change records and dead
  letters, reads and writes the ``projector.`` keys of the lease bucket (its membership
  and partition leases; it cannot create, purge or delete the bucket).
- **dispatcher**: publishes commands (each signed; gateways verify) and reads stream info;
  reads and writes its lease key (``$KV.LEASES.dispatcher``) and nothing else of the
  bucket (it cannot create or change the bucket: ``ops`` does).
- **ops**: the JetStream API (creates and updates streams and consumers); no stream subject.
- **observer**: reads telemetry, acks, changes and dead letters (scripts, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vpp.adapters.nats import subjects
from vpp.domain.ids import validate_id

JS_API = "$JS.API"
JS_ACK = "$JS.ACK"

#: the streams a gateway checks at start (it never creates or updates one)
GATEWAY_STREAMS = (
    subjects.TELEMETRY.name,
    subjects.COMMANDS.name,
    subjects.ACKS.name,
    subjects.DEAD_LETTERS.name,
)
#: the streams the projector projects, with its durable consumer on each
#: (``proj-<projection name>``, vpp.adapters.nats.projection_consumer)
PROJECTOR_CONSUMERS = (
    (subjects.TELEMETRY.name, "proj-telemetry"),
    *(
        (subjects.TELEMETRY.name, f"proj-telemetry-p{p}")
        for p in range(subjects.MAX_TELEMETRY_PARTITIONS)
    ),
    (subjects.COMMANDS.name, "proj-commands"),
    (subjects.ACKS.name, "proj-acks"),
)


class Role(StrEnum):
    GATEWAY = "gateway"
    PROJECTOR = "projector"
    DISPATCHER = "dispatcher"
    OPS = "ops"
    OBSERVER = "observer"


@dataclass(frozen=True, slots=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def inbox_prefix(name: str) -> str:
    return f"_INBOX.{validate_id(name, 'identity name')}"


def _inbox(name: str) -> str:
    return f"{inbox_prefix(name)}.>"


def gateway_permissions(name: str, gateway_id: str) -> Permissions:
    gw = validate_id(gateway_id, "gateway_id")
    stream = subjects.COMMANDS.name
    consumer = f"gateway-{gw}"  # vpp.adapters.nats.commands.consumer_name
    return Permissions(
        publish=(
            subjects.telemetry(gw),
            f"{subjects.PREFIX}.ack.{gw}.*",
            subjects.dead_letter(stream),
            *(f"{JS_API}.STREAM.INFO.{s}" for s in GATEWAY_STREAMS),
            f"{JS_API}.CONSUMER.CREATE.{stream}.{consumer}.{subjects.commands_for_gateway(gw)}",
            f"{JS_API}.CONSUMER.INFO.{stream}.{consumer}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            f"{JS_ACK}.{stream}.{consumer}.>",
        ),
        subscribe=(_inbox(name),),
    )


def projector_permissions(name: str) -> Permissions:
    consumer_api = []
    for s, c in PROJECTOR_CONSUMERS:  # a wildcard is a whole token: name each consumer
        consumer_api += [
            f"{JS_API}.CONSUMER.*.{s}.{c}",  # INFO, DELETE, CREATE without filter
            f"{JS_API}.CONSUMER.DURABLE.CREATE.{s}.{c}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{s}.{c}",
            f"{JS_ACK}.{s}.{c}.>",
        ]
    return Permissions(
        publish=(
            f"{subjects.PREFIX}.change.>",
            f"{subjects.DEAD_LETTER_PREFIX}.>",
            f"{JS_API}.STREAM.INFO.*",
            f"{JS_API}.STREAM.MSG.GET.{subjects.TELEMETRY.name}",  # a partition's last seq
            *consumer_api,
            *_projector_leases(),
        ),
        subscribe=(_inbox(name),),
    )


def _projector_leases() -> tuple[str, ...]:
    """Revision-checked writes and direct reads of the ``projector.`` keys of the lease
    bucket, nothing else of it."""
    bucket = subjects.LEASES_BUCKET
    keys = subjects.kv_key(bucket, f"{subjects.PROJECTOR_LEASES}.>")
    return (keys, f"{JS_API}.DIRECT.GET.{subjects.kv_stream(bucket)}.{keys}")


def dispatcher_permissions(name: str) -> Permissions:
    bucket = subjects.LEASES_BUCKET
    stream, key = subjects.kv_stream(bucket), subjects.kv_key(bucket, subjects.DISPATCHER_LEASE)
    return Permissions(
        publish=(
            f"{subjects.PREFIX}.command.>",
            f"{JS_API}.STREAM.INFO.*",
            key,  # revision-checked writes of the lease
            f"{JS_API}.DIRECT.GET.{stream}.{key}",  # reads of the lease
        ),
        subscribe=(_inbox(name),),
    )


def ops_permissions(name: str) -> Permissions:
    return Permissions(publish=(f"{JS_API}.>",), subscribe=(_inbox(name),))


def observer_permissions(name: str) -> Permissions:
    p = subjects.PREFIX
    return Permissions(
        publish=(f"{JS_API}.STREAM.INFO.*",),
        subscribe=(
            f"{p}.telemetry.>",
            f"{p}.ack.>",
            f"{p}.change.>",
            f"{subjects.DEAD_LETTER_PREFIX}.>",
            _inbox(name),
        ),
    )


def permissions_for(role: Role, name: str, gateway_id: str | None = None) -> Permissions:
    if role is Role.GATEWAY:
        if gateway_id is None:
            raise ValueError("a gateway identity needs its gateway_id")
        return gateway_permissions(name, gateway_id)
    by_role = {
        Role.PROJECTOR: projector_permissions,
        Role.DISPATCHER: dispatcher_permissions,
        Role.OPS: ops_permissions,
        Role.OBSERVER: observer_permissions,
    }
    return by_role[role](name)

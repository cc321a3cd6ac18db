"""The one place that spells NATS stream and subject names (DESIGN.md, "NATS JetStream").

Every id that becomes a subject token is validated first, so a malformed id can never
widen a subscription (``*``, ``>``) or split a token (``.``).
"""

from __future__ import annotations

from dataclasses import dataclass

from vpp.domain.ids import validate_id

PREFIX = "vpp"
DEAD_LETTER_PREFIX = f"{PREFIX}.deadletter"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    description: str


DAY = 86400.0

TELEMETRY = StreamSpec("TELEMETRY", (f"{PREFIX}.telemetry.>",), 7 * DAY, "DER readings")
COMMANDS = StreamSpec("COMMANDS", (f"{PREFIX}.command.>",), 1 * DAY, "setpoint commands")
ACKS = StreamSpec("ACKS", (f"{PREFIX}.ack.>",), 30 * DAY, "command outcomes")
EVENTS = StreamSpec("EVENTS", (f"{PREFIX}.event.>",), 365 * DAY, "domain events")
CHANGES = StreamSpec("CHANGES", (f"{PREFIX}.change.>",), 1 * DAY, "read-model row changes")
DEAD_LETTERS = StreamSpec(
    "DEADLETTER", (f"{DEAD_LETTER_PREFIX}.>",), 30 * DAY, "undecodable messages with reason"
)

ALL_STREAMS: tuple[StreamSpec, ...] = (TELEMETRY, COMMANDS, ACKS, EVENTS, CHANGES, DEAD_LETTERS)

#: the JetStream KV bucket of leases (its stream is ``KV_<bucket>``), the dispatchers' key,
#: and the prefix of the projectors' keys (their membership and partition leases)
LEASES_BUCKET = "LEASES"
DISPATCHER_LEASE = "dispatcher"
PROJECTOR_LEASES = "projector"


def kv_stream(bucket: str) -> str:
    return f"KV_{bucket}"


def kv_key(bucket: str, key: str) -> str:
    """The subject a KV key is stored on."""
    return f"$KV.{bucket}.{key}"


def telemetry(gateway_id: str) -> str:
    return f"{PREFIX}.telemetry.{validate_id(gateway_id, 'gateway_id')}"


def command(gateway_id: str, der_id: str) -> str:
    return (
        f"{PREFIX}.command.{validate_id(gateway_id, 'gateway_id')}.{validate_id(der_id, 'der_id')}"
    )


def commands_for_gateway(gateway_id: str) -> str:
    return f"{PREFIX}.command.{validate_id(gateway_id, 'gateway_id')}.*"


def ack(gateway_id: str, der_id: str) -> str:
    return f"{PREFIX}.ack.{validate_id(gateway_id, 'gateway_id')}.{validate_id(der_id, 'der_id')}"


#: the TELEMETRY stream stores ``vpp.telemetry.<gw>`` as ``vpp.telemetry.<gw>.<partition>``
#: (a subject transform: a stable hash of the gateway) when it has more than one partition
TELEMETRY_PARTITION_SOURCE = f"{PREFIX}.telemetry.*"
#: partitions of a provisioned deployment's TELEMETRY stream (``vpp nats streams``)
TELEMETRY_PARTITIONS = 8
#: the most partitions a projector identity may consume (its permissions name each one)
MAX_TELEMETRY_PARTITIONS = 32


def telemetry_partition_dest(partitions: int) -> str:
    return f"{PREFIX}.telemetry.{{{{wildcard(1)}}}}.{{{{partition({partitions},1)}}}}"


def telemetry_partition_filters(partition: int) -> tuple[str, ...]:
    """The stored subjects of one partition; partition 0 also takes messages stored
    before the stream was partitioned (three tokens, no partition)."""
    own = f"{PREFIX}.telemetry.*.{partition}"
    return (own, TELEMETRY_PARTITION_SOURCE) if partition == 0 else (own,)


def gateway_of(subject: str) -> str:
    """The gateway token of a telemetry, command or ack subject (``vpp.telemetry.<gw>``,
    stored ``vpp.telemetry.<gw>.<partition>``, ``vpp.command.<gw>.<der>``,
    ``vpp.ack.<gw>.<der>``); "" for any other subject."""
    parts = subject.split(".")
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] not in ("telemetry", "command", "ack"):
        return ""
    return parts[2]


def event(kind: str) -> str:
    return f"{PREFIX}.event.{validate_id(kind, 'event kind')}"


def change(table: str) -> str:
    return f"{PREFIX}.change.{validate_id(table, 'table')}"


def dead_letter(source_stream: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{validate_id(source_stream.lower(), 'stream')}"

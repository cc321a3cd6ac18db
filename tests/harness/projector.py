"""The projector tests' telemetry: batches of readings and their JetStream publication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from vpp.adapters.nats import codec, subjects
from vpp.domain import Reading

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def batch(gw: str, i0: int, n: int, ders: int = 5) -> list[Reading]:
    """``n`` seconds (from ``T0 + i0``) of readings of ``ders`` DERs of gateway ``gw``."""
    return [
        Reading(f"{gw}-der{d}", T0 + timedelta(seconds=i), float(100 * d + i), soc=0.5)
        for i in range(i0, i0 + n)
        for d in range(ders)
    ]


async def publish_telemetry(js: JetStreamContext, gw: str, readings: list[Reading]) -> None:
    """As the gateway publishes a batch: its deterministic message id for JetStream dedupe."""
    await js.publish(
        subjects.telemetry(gw),
        codec.encode_telemetry(gw, readings),
        headers={"Nats-Msg-Id": codec.telemetry_msg_id(gw, readings)},
    )

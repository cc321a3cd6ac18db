"""Publish setpoint commands to the COMMANDS stream, deduplicated by command id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.js import JetStreamContext

from vpp.adapters.nats import codec, subjects
from vpp.domain.commands import SetpointCommand


class NatsCommandSender:
    def __init__(self, js: JetStreamContext, *, timeout_s: float = 5.0) -> None:
        self.js = js
        self.timeout_s = timeout_s

    async def send_commands(self, cmds: Sequence[SetpointCommand]) -> None:
        """Publish all, then wait for every JetStream ack (bounded: futures have no timeout)."""
        futures = [
            await self.js.publish_async(
                subjects.command(c.gateway_id, c.der_id),
                codec.encode_command(c),
                headers={"Nats-Msg-Id": codec.command_msg_id(c)},
            )
            for c in cmds
        ]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=self.timeout_s)

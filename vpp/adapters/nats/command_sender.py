"""Publish setpoint commands to the COMMANDS stream, signed, deduplicated by command id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.js import JetStreamContext

from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.publisher import MSG_ID
from vpp.application.ports import CommandSigner
from vpp.domain.commands import SetpointCommand


class NatsCommandSender:
    """Every command carries the signer's headers over its subject and payload; the
    gateway refuses one without them (``vpp.adapters.nats.commands``)."""

    def __init__(
        self, js: JetStreamContext, signer: CommandSigner, *, timeout_s: float = 5.0
    ) -> None:
        self.js = js
        self.signer = signer
        self.timeout_s = timeout_s

    async def send_commands(self, cmds: Sequence[SetpointCommand]) -> None:
        """Publish all, then wait for every JetStream ack (bounded: futures have no timeout)."""
        futures = []
        for c in cmds:
            subject = subjects.command(c.gateway_id, c.der_id)
            payload = codec.encode_command(c)
            headers = self.signer.sign(subject, payload) | {MSG_ID: codec.command_msg_id(c)}
            futures.append(await self.js.publish_async(subject, payload, headers=headers))
        await asyncio.wait_for(asyncio.gather(*futures), timeout=self.timeout_s)

"""The gateway's durable pull consumer on ``vpp.command.<gateway>.*`` (COMMANDS stream).

Each message's signature is verified first, before its payload is even decoded: one that
fails (unsigned, unknown key, bad signature — e.g. a signed command moved to another
subject) is never applied and never enters the ledger (a forger must not be able to
spend a real command id), is counted, logged, answered with a ``rejected`` ack whose
reason starts with ``signature:`` if its payload decodes for this subject (else
dead-lettered with that reason) unless that command id already has its real ack, and
terminated so JetStream does not redeliver it.

Each verified message is decoded with :mod:`codec`; one that cannot be decoded goes to the
dead-letter subject with its reason and is acked (it would never decode on redelivery).
A decoded command is handed to ``handler``, which applies it and publishes its ack; only
then is the message acked.  A command not valid yet is nak'ed with a delay until its
``valid_from``, so JetStream keeps it and delivers it again in time.  If the handler
raises (e.g. the ack could not be published), the message is nak'ed and comes again; the
gateway's ledger makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.permissions import GATEWAY_STREAMS
from vpp.adapters.nats.publisher import MSG_ID
from vpp.adapters.nats.streams import ensure_streams
from vpp.adapters.nats.uplink import NatsUplink
from vpp.application.ports import (
    CommandNotYetValid,
    CommandVerifier,
    GatewayMetrics,
    SignatureRefused,
)
from vpp.domain.commands import AckOutcome, CommandAck, SetpointCommand
from vpp.runtime import utc_now

log = logging.getLogger(__name__)


class CommandHandler(Protocol):
    def __call__(self, cmd: SetpointCommand, *, redelivered: bool) -> Awaitable[None]: ...


#: commands delivered and not yet acked, per gateway: JetStream's bound and ours
MAX_ACK_PENDING = 1000
#: how long a pull waits for more commands once the first of a burst is in
SWEEP_S = 0.02
DeadLetterHook = Callable[[str], None]
GATEWAY_SPECS = tuple(s for s in subjects.ALL_STREAMS if s.name in GATEWAY_STREAMS)


def _redelivered(msg: Msg) -> bool:
    """JetStream delivers this message again (not a new message with an old command)."""
    try:
        return bool(msg.metadata.num_delivered and msg.metadata.num_delivered > 1)
    except Exception:  # not a JetStream message: no redelivery to speak of
        return False


def consumer_name(gateway_id: str) -> str:
    return f"gateway-{gateway_id}"


class NatsCommandConsumer:
    def __init__(
        self,
        uplink: NatsUplink,
        gateway_id: str,
        handler: CommandHandler,
        *,
        verifier: CommandVerifier | None,
        metrics: GatewayMetrics | None = None,
        answered: Callable[[str], bool] | None = None,
        on_dead_letter: DeadLetterHook | None = None,
        batch: int = MAX_ACK_PENDING,
        fetch_timeout_s: float = 1.0,
        max_in_flight: int = MAX_ACK_PENDING,
    ) -> None:
        self.uplink = uplink
        self.gateway_id = gateway_id
        self.handler = handler
        self.verifier = verifier  # None: unsigned commands allowed (explicitly configured)
        self.metrics = metrics
        # whether a command id already has its real ack: a forged copy then gets none
        self.answered = answered
        self.on_dead_letter = on_dead_letter
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.max_in_flight = max_in_flight
        self._task: asyncio.Task[None] | None = None
        self._chains: dict[str, deque[Msg]] = {}  # per subject (one DER): in stream order
        self._chain_tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._room = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._consume_forever(), name="command-consumer")

    async def close(self) -> None:
        tasks = [*([self._task] if self._task is not None else []), *self._chain_tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        js = self.uplink.js
        assert js is not None
        # only the streams it uses, never created over an operator's settings
        await ensure_streams(js, GATEWAY_SPECS, update_existing=False)
        return await js.pull_subscribe(
            subjects.commands_for_gateway(self.gateway_id),
            durable=consumer_name(self.gateway_id),
            stream=subjects.COMMANDS.name,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=30.0,
                max_ack_pending=MAX_ACK_PENDING,
            ),
        )

    async def _consume_forever(self) -> None:
        sub = None
        while True:
            if not self.uplink.connected:
                await asyncio.sleep(0.2)
                continue
            while self._in_flight >= self.max_in_flight:
                self._room.clear()
                await self._room.wait()
            try:
                if sub is None:
                    sub = await self._subscribe()
                room = self.max_in_flight - self._in_flight
                msgs = await self._pull(sub, min(self.batch, room))
            except (NatsTimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("command consumer: %s; resubscribing", exc)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                sub = None
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                self._start(msg)

    async def _pull(self, sub: Any, n: int) -> list[Msg]:
        """Wait for the first command, then take what else is there at once.

        A single ``fetch(n)`` long-poll returns only when ``n`` messages came or its
        timeout passed: a burst of fewer than ``n`` commands would sit in it for up to
        ``fetch_timeout_s`` before the first one is applied."""
        msgs: list[Msg] = await sub.fetch(1, timeout=self.fetch_timeout_s)
        if n > 1:
            try:
                msgs += await sub.fetch(n - 1, timeout=SWEEP_S)
            except (NatsTimeoutError, TimeoutError):
                pass
            except Exception as exc:  # the first is in hand: apply it, the loop resubscribes
                log.warning("command consumer: sweep failed (%s)", exc)
        return msgs

    def _start(self, msg: Msg) -> None:
        """Commands for different DERs are applied concurrently (each device is its own
        connection) as soon as they arrive, up to ``max_in_flight``; those for one DER one
        after the other, in stream order, so the sequence rule sees them as sent."""
        self._in_flight += 1
        chain = self._chains.get(msg.subject)
        if chain is not None:
            chain.append(msg)
            return
        chain = self._chains[msg.subject] = deque([msg])
        task = asyncio.create_task(self._run_chain(msg.subject, chain))
        self._chain_tasks.add(task)
        task.add_done_callback(self._chain_tasks.discard)

    async def _run_chain(self, subject: str, chain: deque[Msg]) -> None:
        try:
            while chain:
                try:
                    await self._one(chain[0])
                finally:
                    chain.popleft()
                    self._in_flight -= 1
                    self._room.set()
        finally:
            if self._chains.get(subject) is chain:
                del self._chains[subject]

    def _decode(self, msg: Msg) -> SetpointCommand:
        cmd = codec.decode_command(msg.data, self.gateway_id)
        der_token = msg.subject.rsplit(".", 1)[-1]
        if cmd.der_id != der_token:
            raise codec.CodecError(
                "command", f"der_id {cmd.der_id!r} does not match subject {msg.subject!r}"
            )
        return cmd

    async def _one(self, msg: Msg) -> None:
        if self.verifier is not None:
            try:
                self.verifier.verify(msg.subject, msg.data, msg.headers)
            except SignatureRefused as refused:
                await self._refuse(msg, refused)
                return
        try:
            cmd = self._decode(msg)
        except codec.CodecError as exc:
            await self._dead_letter(msg, exc.reason)
            return
        try:
            await self.handler(cmd, redelivered=_redelivered(msg))
        except CommandNotYetValid as later:
            log.info("%s; redelivery requested", later)
            with contextlib.suppress(Exception):
                await msg.nak(delay=later.delay_s)
            return
        except Exception as exc:
            log.warning("command %s not handled yet (%s); will come again", cmd.command_id, exc)
            with contextlib.suppress(Exception):
                await msg.nak(delay=1.0)
            return
        with contextlib.suppress(Exception):
            await msg.ack()

    async def _refuse(self, msg: Msg, refused: SignatureRefused) -> None:
        """Count, log and answer a command whose signature failed; never redelivered."""
        reason = str(refused)
        stream_seq = msg.metadata.sequence.stream if msg.reply else 0
        if self.metrics is not None:
            self.metrics.count_refused(refused.kind.value)
        log.warning(
            "command refused: event=command_refused subject=%s reason=%r stream_seq=%d",
            msg.subject,
            reason,
            stream_seq,
            extra={"event": "command_refused", "subject": msg.subject, "reason": reason},
        )
        try:
            cmd = self._decode(msg)
        except codec.CodecError as exc:
            await self._dead_letter(msg, f"{reason}; {exc.reason}", terminate=True)
            return
        if self.answered is not None and self.answered(cmd.command_id):
            # the real command was answered: a refusal ack now would overwrite its outcome
            # in the read models (the newest ack wins); counted and logged is enough
            with contextlib.suppress(Exception):
                await msg.term()
            return
        ack = CommandAck(
            command_id=cmd.command_id,
            der_id=cmd.der_id,
            gateway_id=cmd.gateway_id,
            seq=cmd.seq,
            outcome=AckOutcome.REJECTED,
            ts=utc_now(),
            p_w_requested=cmd.p_w,
            reason=reason,
            dispatch_id=cmd.dispatch_id,
        )
        js = self.uplink.js
        try:
            assert js is not None
            # its own message id: a forged copy must not dedupe the real command's ack
            await js.publish(
                subjects.ack(ack.gateway_id, ack.der_id),
                codec.encode_ack(ack),
                timeout=5.0,
                headers={MSG_ID: f"a-{ack.command_id}-refused-{stream_seq}"},
            )
        except Exception as exc:  # counted and logged above: the refusal is not lost
            log.warning("refusal ack for %s not published (%s)", cmd.command_id, exc)
        with contextlib.suppress(Exception):
            await msg.term()

    async def _dead_letter(self, msg: Msg, reason: str, *, terminate: bool = False) -> None:
        log.warning("dead-lettering command on %s: %s", msg.subject, reason)
        if self.on_dead_letter:
            self.on_dead_letter(reason)
        js = self.uplink.js
        meta_seq = msg.metadata.sequence.stream if msg.reply else 0
        try:
            assert js is not None
            await js.publish(
                subjects.dead_letter(subjects.COMMANDS.name),
                codec.dead_letter_payload(msg.subject, reason, msg.data),
                timeout=5.0,
                headers={MSG_ID: f"dl-commands-{meta_seq}"},
            )
        except Exception as exc:
            log.warning("dead letter not published (%s); will come again", exc)
            with contextlib.suppress(Exception):
                await msg.nak(delay=1.0)
            return
        with contextlib.suppress(Exception):
            await (msg.term() if terminate else msg.ack())

"""Apply one setpoint command by the domain's rules and answer it with an ack.

Order of work, chosen so that a crash anywhere is harmless:

0. a command whose ``valid_from`` is still ahead raises :class:`CommandNotYetValid`; the
   consumer hands it back to JetStream to be redelivered then (it stays durable there);
1. a command id already in the ledger is answered with the ack it got (duplicate
   delivery), never applied again;
2. the fencing epoch: one newer than the highest seen is remembered (durably) first; one
   older is refused (``stale-epoch``: a deposed dispatcher's command, counted);
   :func:`vpp.domain.commands.decide` (known DER, not expired, newer sequence, ratings —
   a clamp is reported in the ack); a value beyond the ratings by more than
   ``clamp_tolerance`` of the DER's power range is refused instead of clamped (it is a
   wrong command, not a rounding error) and never reaches the device;
3. the device write, if the rules say so (a device error becomes a ``failed`` ack);
4. the ack is recorded in the ledger (with the new last sequence), then published; if
   publishing fails the caller does not ack the message, it comes again and step 1
   answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from vpp.application.gateway.device_runner import DeviceRunner
from vpp.application.ports import (
    AckPublisher,
    Clock,
    CommandLedger,
    CommandNotYetValid,
    DeviceError,
    GatewayMetrics,
    RefusalKind,
)
from vpp.domain.commands import AckOutcome, CommandAck, SetpointCommand, decide, is_stale
from vpp.runtime.logs import log_fields

log = logging.getLogger(__name__)

STARTUP_WAIT_S = 15.0
VALID_FROM_TOLERANCE_S = 0.5  # clock skew between dispatcher and gateway


class GatewayCommandHandler:
    def __init__(
        self,
        gateway_id: str,
        runners: Mapping[str, DeviceRunner],
        ledger: CommandLedger,
        acks: AckPublisher,
        clock: Clock,
        *,
        command_timeout_s: float,
        clamp_tolerance: float = 0.1,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.clamp_tolerance = clamp_tolerance
        self.gateway_id = gateway_id
        self.runners = runners
        self.ledger = ledger
        self.acks = acks
        self.clock = clock
        self.command_timeout_s = command_timeout_s
        self.metrics = metrics

    async def handle(self, cmd: SetpointCommand, *, redelivered: bool = False) -> None:
        """Apply ``cmd`` once.  ``redelivered``: the broker delivers the same message again
        (a crash or a lost ack before); a command id seen before in a message delivered
        for the first time is a replay, counted as refused."""
        ahead = (cmd.valid_from - self.clock.now()).total_seconds()
        if ahead > VALID_FROM_TOLERANCE_S and self.ledger.known_ack(cmd.command_id) is None:
            raise CommandNotYetValid(cmd.command_id, ahead)
        known = self.ledger.known_ack(cmd.command_id)
        if known is not None:
            # a redelivery or a replay: never applied twice; the ack it got is repeated
            # (a replayed copy must not change what the dispatcher learnt about it)
            log.log(
                logging.INFO if redelivered else logging.WARNING,
                "command %s seen before (%s, %s): not applied again, ack repeated",
                cmd.command_id,
                known.outcome.value,
                "redelivered" if redelivered else "replayed",
                extra=log_fields(cmd),
            )
            if self.metrics and not redelivered:
                self.metrics.count_refused(RefusalKind.REPLAYED.value)
            await self.acks.publish_ack(known)
            return
        highest = self.ledger.highest_epoch()
        if cmd.epoch > highest:  # a new leader: its predecessor's commands are stale now
            log.info("dispatcher epoch %d (was %d)", cmd.epoch, highest)
            await self.ledger.raise_epoch(cmd.epoch)
        elif is_stale(cmd, highest) and self.metrics:
            self.metrics.count_refused(RefusalKind.STALE_EPOCH.value)
        ack = await self._decide_and_apply(cmd)
        await self.ledger.record(ack)
        if self.metrics:
            self.metrics.count_command(ack.outcome.value)
        log.info(
            "command %s for %s seq %d: %s %s",
            cmd.command_id,
            cmd.der_id,
            cmd.seq,
            ack.outcome.value,
            ack.reason,
            extra=log_fields(cmd),
        )
        await self.acks.publish_ack(ack)

    def _ack(self, cmd: SetpointCommand, outcome: AckOutcome, **kw: object) -> CommandAck:
        return CommandAck(
            command_id=cmd.command_id,
            der_id=cmd.der_id,
            gateway_id=cmd.gateway_id,
            seq=cmd.seq,
            outcome=outcome,
            ts=self.clock.now(),
            p_w_requested=cmd.p_w,
            dispatch_id=cmd.dispatch_id,
            **kw,  # type: ignore[arg-type]
        )

    async def _decide_and_apply(self, cmd: SetpointCommand) -> CommandAck:
        runner = self.runners.get(cmd.der_id)
        if runner is not None and not runner.first_attempt.is_set():
            # a command that arrives while the gateway starts waits for the device's
            # first connect rather than failing at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runner.first_attempt.wait(), STARTUP_WAIT_S)
        now = self.clock.now()
        if runner is not None and runner.der is None:
            return self._ack(
                cmd,
                AckOutcome.REJECTED,
                reason=f"ratings of DER {cmd.der_id} not known yet (device not reached)",
            )
        decision = decide(
            cmd,
            runner.der if runner else None,
            self.ledger.last_seq(cmd.der_id),
            now,
            self.ledger.highest_epoch(),
        )
        if not decision.apply:
            assert decision.outcome is not None
            return self._ack(cmd, decision.outcome, reason=decision.reason)
        assert runner is not None and runner.der is not None
        r = runner.der.ratings
        excess = abs(cmd.p_w - decision.p_w)
        if decision.clamped and excess > self.clamp_tolerance * max(r.p_range_w, 1.0):
            return self._ack(
                cmd,
                AckOutcome.REJECTED,
                reason=f"out of ratings: {cmd.p_w:g} W is outside "
                f"[{r.p_min_w:g}, {r.p_max_w:g}] W by more than the clamp tolerance",
            )
        hold_until = min(cmd.valid_until, now + timedelta(seconds=self.command_timeout_s))
        try:
            applied = await runner.apply(decision.p_w, hold_until)
        except DeviceError as exc:
            return self._ack(cmd, AckOutcome.FAILED, reason=exc.reason)
        reason = "; ".join(x for x in (decision.reason, applied.detail) if x)
        return self._ack(
            cmd,
            AckOutcome.APPLIED,
            p_w_applied=applied.p_w,
            clamped=decision.clamped,
            reason=reason,
        )

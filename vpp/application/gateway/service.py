"""The field gateway use case: poll devices, batch telemetry, apply commands safely.

``FieldGateway.run()`` starts the services (uplink, telemetry forwarder, command consumer,
metrics), one poll task per device, a flush task that publishes the readings of each
cycle as one batch (with the devices' health when it changed, and all of it every
``health_every_s``: docs/device-state.md), and the safety supervisor; it returns after
:meth:`stop`.  On the way out every device is released to its default mode and buffered
telemetry is flushed for a moment (what is not delivered stays on disk for the next
start).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from vpp.application.gateway.command_handling import GatewayCommandHandler
from vpp.application.gateway.device_runner import CommandsFirst, DeviceRunner
from vpp.application.ports import Clock, GatewayMetrics, Service, TelemetryPublisher, Uplink
from vpp.domain.commands import SetpointCommand
from vpp.domain.telemetry import DeviceHealth, Reading

log = logging.getLogger(__name__)

SHUTDOWN_STEP_S = 5.0


class FieldGateway:
    def __init__(
        self,
        gateway_id: str,
        runners: Sequence[DeviceRunner],
        telemetry: TelemetryPublisher,
        commands: GatewayCommandHandler,
        uplink: Uplink,
        clock: Clock,
        *,
        metrics: GatewayMetrics,
        flush_s: float = 1.0,
        supervise_s: float = 0.5,
        health_every_s: float = 60.0,
    ) -> None:
        self.gateway_id = gateway_id
        self.runners = {r.der_id: r for r in runners}
        self.telemetry = telemetry
        self.commands = commands
        self.uplink = uplink
        self.clock = clock
        self.metrics = metrics
        self.flush_s = flush_s
        self.supervise_s = supervise_s
        self.health_every_s = health_every_s
        self.services: list[Service] = []  # started in order, closed in reverse
        self.cycle_samples: deque[float] = deque(maxlen=200_000)
        self.commands_first = CommandsFirst()
        for i, r in enumerate(runners):
            r.phase_s = i / max(1, len(runners)) * r.spec.poll_s
            if r.cycle_samples is None:
                r.cycle_samples = self.cycle_samples
            if r.commands_first is None:
                r.commands_first = self.commands_first
        self.readings_produced = 0
        self._pending: list[Reading] = []
        self._announced: dict[str, bool] = {}  # health last published, per device
        self._health_due = 0.0  # loop time of the next full health statement
        self._stop = asyncio.Event()
        self._started = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def collect(self, reading: Reading) -> None:
        """Sink of the device runners: readings wait here for the next flush."""
        self._pending.append(reading)
        self.readings_produced += 1

    async def handle_command(self, cmd: SetpointCommand, *, redelivered: bool = False) -> None:
        self.commands_first.begin()
        try:
            await self.commands.handle(cmd, redelivered=redelivered)
        finally:
            self.commands_first.end()

    # -- lifecycle --------------------------------------------------------------------------

    async def wait_started(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._started.wait(), timeout)

    def stop(self) -> None:
        self._stop.set()

    def readiness(self) -> str | None:
        """``None`` when the gateway does its whole job, else why not (``/readyz``).

        Ready means: started, NATS connected, every device polled once and at least one
        of them answering.  A gateway buffering while NATS is away is alive (``/healthz``)
        and keeps its devices safe, but not ready: commands cannot reach it and its
        telemetry is late, which is what an operator has to see.  Reads flags only (it is
        called from the ops endpoint's thread)."""
        if not self._started.is_set() or self._stop.is_set():
            return "starting" if not self._stop.is_set() else "stopping"
        if not self.uplink.connected:
            return f"NATS unreachable for {self.uplink.down_for_s():.0f} s (telemetry buffered)"
        waiting = [d for d, r in self.runners.items() if not r.first_attempt.is_set()]
        if waiting:
            return f"{len(waiting)} of {len(self.runners)} devices not polled yet"
        if self.runners and not any(r.connected for r in self.runners.values()):
            return f"none of the {len(self.runners)} devices answers"
        return None

    async def run(self) -> None:
        started: list[Service] = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
            for r in self.runners.values():
                self._tasks.append(asyncio.create_task(r.run(), name=f"poll-{r.der_id}"))
            self._tasks.append(asyncio.create_task(self._flush_forever(), name="flush"))
            self._tasks.append(asyncio.create_task(self._supervise_forever(), name="safety"))
            self._started.set()
            await self._stop.wait()
        finally:
            await self._shutdown(started)

    async def _shutdown(self, started: list[Service]) -> None:
        for r in self.runners.values():
            r.stopping = True
        pending = set(self._tasks)
        # cancel until every task is gone: on Python 3.11 asyncio.wait_for can swallow a
        # cancellation that races with its inner future (fixed in 3.12)
        for _ in range(50):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.2)
        if pending:
            log.error("%d gateway tasks did not stop", len(pending))
        self._tasks.clear()
        # every driver call on the way out is bounded: a hung device must not hold the exit
        await asyncio.gather(
            *(asyncio.wait_for(r.release_now(), SHUTDOWN_STEP_S) for r in self.runners.values()),
            return_exceptions=True,
        )
        await self._flush_once()
        flush = getattr(self.telemetry, "flush", None)
        if flush is not None and self.uplink.connected:
            await flush(3.0)
        await asyncio.gather(
            *(asyncio.wait_for(r.driver.close(), SHUTDOWN_STEP_S) for r in self.runners.values()),
            return_exceptions=True,
        )
        for service in reversed(started):
            try:
                await service.close()
            except Exception as exc:
                log.warning("closing %s: %s", type(service).__name__, exc)

    # -- loops ------------------------------------------------------------------------------

    def _health_statements(self) -> list[DeviceHealth]:
        """The devices whose health changed since it was last published (once their
        first connect was tried), and all of them every ``health_every_s`` so that a
        statement lost upstream (e.g. refused before the DER was registered) is repeated."""
        loop_now = asyncio.get_running_loop().time()
        everyone = loop_now >= self._health_due
        if everyone:
            self._health_due = loop_now + self.health_every_s
        now = self.clock.now()
        out = []
        for r in self.runners.values():
            if not r.first_attempt.is_set():
                continue
            if everyone or self._announced.get(r.der_id) != r.healthy:
                out.append(DeviceHealth(r.der_id, now, r.healthy, r.last_error))
        return out

    async def _flush_once(self) -> None:
        health = self._health_statements()
        if not self._pending and not health:
            return
        batch, self._pending = self._pending, []
        try:
            await self.telemetry.publish_readings(self.gateway_id, batch, health)
        except Exception as exc:  # the local store failed: say so loudly, keep running
            log.error("telemetry of %d readings not stored: %s", len(batch), exc)
            return
        for h in health:
            self._announced[h.der_id] = h.healthy

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self._flush_once()

    async def _supervise_forever(self) -> None:
        while True:
            await asyncio.sleep(self.supervise_s)
            up = self.uplink.connected
            self.metrics.set_uplink_up(up)
            now = self.clock.now()
            await asyncio.gather(
                *(r.supervise(now, up) for r in self.runners.values() if r.supervision_due(now)),
                return_exceptions=True,
            )

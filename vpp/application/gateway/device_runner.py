"""One device under the gateway: its poll loop, its health, and the setpoint it holds.

* Polls at the device's own period, at its own phase (the gateway staggers devices over
  the period so that they are not all read in the same instant); a late cycle skips
  missed ticks instead of bursting.
* A failed connect or read marks the device unhealthy and retries with exponential
  backoff (``poll_s`` doubling up to ``backoff_max_s``); other devices are unaffected.
  Nothing a device sends can raise out of here: any error is a failed poll.
* A setpoint is held until ``hold_until`` (the command's ``valid_until``, cut to
  ``command_timeout_s`` after the last valid command): meanwhile it is re-written every
  third of the device reversion time, which also re-arms the device's own timer; after
  it, the device is released to its default mode.  If the gateway dies, the device's
  reversion timer does the same by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vpp.application.ports import (
    Applied,
    DeviceDriver,
    DeviceError,
    DeviceSpec,
    GatewayMetrics,
    RatingsSource,
)
from vpp.domain.der import Der, DerRatings
from vpp.domain.errors import InvalidValue
from vpp.domain.telemetry import Reading

log = logging.getLogger(__name__)


class CommandsFirst:
    """Commands go before polls: while any command is being applied, polls wait (at most
    a poll period), so a burst of setpoints does not queue behind a thousand reads in this
    process and in the devices.  Readings keep their source timestamps; a poll put off
    shows as a later reading, not a wrong one."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight <= 0:
            self.in_flight = 0
            self._idle.set()

    async def idle(self, max_wait_s: float) -> None:
        if not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), max_wait_s)


@dataclass(frozen=True, slots=True)
class HeldSetpoint:
    p_w: float
    hold_until: datetime
    written_at: float  # time.monotonic() of the last write


class DeviceRunner:
    def __init__(
        self,
        spec: DeviceSpec,
        driver: DeviceDriver,
        gateway_id: str,
        sink: Callable[[Reading], None],
        *,
        revert_after_s: float,
        metrics: GatewayMetrics | None = None,
        backoff_max_s: float = 30.0,
        cycle_samples: deque[float] | None = None,
        commands_first: CommandsFirst | None = None,
    ) -> None:
        self.spec = spec
        self.driver = driver
        self.gateway_id = gateway_id
        self.sink = sink
        self.revert_after_s = revert_after_s
        self.metrics = metrics
        self.backoff_max_s = backoff_max_s
        self.cycle_samples = cycle_samples
        self.commands_first = commands_first
        self.der: Der | None = None
        self.connected = False
        self.healthy = False
        self.failures = 0
        self.last_error = ""
        self.held: HeldSetpoint | None = None
        # whether a setpoint of ours may still be in force on the device: a reconnect then
        # releases it; otherwise a reconnect leaves the device alone (its own mode, or what
        # a local operator set) - only the first connect releases unconditionally
        self._ours_in_force = True
        self.phase_s = 0.0  # offset of this device's ticks inside the period (staggering)
        self.first_attempt = asyncio.Event()  # set once the first connect has been tried
        self.stopping = False  # checked every cycle: a swallowed cancel still ends the loop
        self._lock = asyncio.Lock()
        if spec.ratings is not None:
            self.der = self._make_der(spec.ratings)

    @property
    def der_id(self) -> str:
        return self.spec.der_id

    def _make_der(self, ratings: DerRatings) -> Der:
        s = self.spec
        return Der(s.der_id, s.kind, ratings, self.gateway_id, s.site_id, s.name)

    def _set_health(self, ok: bool, error: str = "") -> None:
        if ok != self.healthy:
            log.log(
                logging.INFO if ok else logging.WARNING,
                "device %s %s%s",
                self.der_id,
                "healthy" if ok else "unhealthy",
                f": {error}" if error else "",
                extra={"der_id": self.der_id},
            )
        self.healthy = ok
        self.last_error = error
        if self.metrics:
            self.metrics.set_device_healthy(self.der_id, ok)
            if not ok:
                self.metrics.count_device_error(self.der_id)

    def backoff_s(self) -> float:
        """1, 2, 4 … poll periods (at least 1 s) after the 1st, 2nd, 3rd … failure."""
        exponent = min(max(self.failures - 1, 0), 10)
        return min(self.backoff_max_s, max(1.0, self.spec.poll_s) * float(2**exponent))

    # -- poll loop ----------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.spec.poll_s
        await self._connect()
        self.first_attempt.set()
        await asyncio.sleep(self.phase_s)
        next_tick = loop.time()
        while not self.stopping:
            if not self.connected:
                await asyncio.sleep(self.backoff_s())
                if not await self._connect():
                    continue
                next_tick = loop.time()
            scheduled = next_tick
            if self.commands_first is not None:
                await self.commands_first.idle(period)
            started = loop.time()
            try:
                async with self._lock:
                    reading = await self.driver.read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # DeviceError, or anything garbage made a driver raise
                await self._failed(exc)
                continue
            done = loop.time()
            self.sink(reading)
            if self.metrics:
                self.metrics.observe_poll(done - started)
                self.metrics.observe_cycle(done - scheduled)
                self.metrics.count_readings(self.der_id)
            if self.cycle_samples is not None:
                self.cycle_samples.append(done - scheduled)
            if not self.healthy:
                self._set_health(True)
            next_tick += period
            if next_tick < done:  # overrun: skip missed ticks, keep the phase
                next_tick += period * ((done - next_tick) // period + 1)
            await asyncio.sleep(next_tick - done)

    async def _connect(self) -> bool:
        try:
            async with self._lock:
                await self.driver.connect()
                if isinstance(self.driver, RatingsSource) and self.spec.ratings is None:
                    ratings = self.driver.discovered_ratings()
                    if ratings is not None:
                        self.der = self._make_der(ratings)
                if self.held is None:
                    if self._ours_in_force:
                        await self.driver.release()
                        self._ours_in_force = False
                else:
                    await self._write(self.held.p_w)
        except asyncio.CancelledError:
            raise
        except (Exception, InvalidValue) as exc:
            self.failures += 1
            self._set_health(False, str(exc))
            return False
        self.connected = True
        self.failures = 0
        return True

    async def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.connected = False
        self._set_health(False, str(exc))
        try:
            await self.driver.close()
        except Exception as close_exc:
            log.debug("closing %s: %s", self.der_id, close_exc, extra={"der_id": self.der_id})

    # -- setpoints ------------------------------------------------------------------------

    async def _write(self, p_w: float) -> Applied:
        self._ours_in_force = True
        applied = await self.driver.apply_setpoint(p_w, self.revert_after_s)
        if self.held is not None:
            self.held = HeldSetpoint(self.held.p_w, self.held.hold_until, time.monotonic())
        return applied

    async def apply(self, p_w: float, hold_until: datetime) -> Applied:
        """Write a setpoint now and hold it until ``hold_until``; raises DeviceError."""
        if not self.connected:
            raise DeviceError(self.der_id, f"device not reachable ({self.last_error})")
        async with self._lock:
            self._ours_in_force = True
            try:
                applied = await self.driver.apply_setpoint(p_w, self.revert_after_s)
            except DeviceError:
                raise
            except Exception as exc:
                raise DeviceError(self.der_id, f"setpoint not written: {exc}") from exc
            self.held = HeldSetpoint(p_w, hold_until, time.monotonic())
            return applied

    def supervision_due(self, now: datetime) -> bool:
        """Whether :meth:`supervise` has anything to do now (cheap, no I/O)."""
        held = self.held
        if held is None:
            return False
        if now >= held.hold_until:
            return True
        return self.connected and time.monotonic() - held.written_at >= self.revert_after_s / 3

    async def supervise(self, now: datetime, uplink_up: bool) -> None:
        """Release an expired setpoint, refresh a held one before the device reverts."""
        held = self.held
        if held is None:
            return
        if now >= held.hold_until:
            self.held = None
            reason = "uplink" if not uplink_up else "no-command"
            log.info(
                "device %s back to default mode (%s)",
                self.der_id,
                reason,
                extra={"der_id": self.der_id},
            )
            if self.metrics:
                self.metrics.count_reverted(reason)
            if self.connected:
                try:
                    async with self._lock:
                        await self.driver.release()
                    self._ours_in_force = False
                except Exception as exc:  # the device's reversion timer still holds
                    await self._failed(exc)
            return
        if self.connected and time.monotonic() - held.written_at >= self.revert_after_s / 3:
            try:
                async with self._lock:
                    await self._write(held.p_w)
            except Exception as exc:
                await self._failed(exc)

    async def release_now(self) -> None:
        self.held = None
        if self.connected:
            try:
                async with self._lock:
                    await self.driver.release()
                self._ours_in_force = False
            except Exception as exc:
                log.warning(
                    "release of %s failed (device reverts by itself): %s",
                    self.der_id,
                    exc,
                    extra={"der_id": self.der_id},
                )

"""IEC 61850 MMS: the gateway's :class:`DeviceDriver` for 7-420 style DER models.

* connect: associate, check the online model against the SCL references (data set
  members and their types, ``ctlModel`` of ``DRCC1.OutWSet``, ``units.multiplier``),
  enable a buffered report on the measurement data set (else an unbuffered one), and
  read everything once.
* read: the latest values the reports delivered; when no report arrived for
  ``stale_after_s`` (or none could be enabled), one read of all members instead.  The
  reading carries ``MMXU1.TotW.t``, the device's timestamp, never the time of receipt.
* apply_setpoint: operate the APC ``DRCC1.OutWSet`` with the control model the device
  declares (direct or select-before-operate, normal or enhanced security).
* Reversion: IEC 61850-7-420 Ed.1 ``DRCC.OutWSet`` has no reversion timer.  If the model
  offers a ``*RvrtTms`` setting next to the setpoint (the simulators' models do:
  ``DRCC1.OutWSetRvrtTms``, a vpp extension) it is written with every setpoint and the
  device reverts by itself, also when the gateway process dies.  The driver's own timer
  returns the device to its default after ``revert_after_s`` without a refresh in any
  case; on a model without the setting it is the only one, and it dies with the process
  (see ``docs/iec61850-client.md``).
* release: the model has no "setpoint off"; :mod:`.release` says what is written.  The
  reversion setting is written 0 first, so the default written then stays in force.

The blocking client runs on one dedicated thread per device; the event loop only awaits.
Every failure becomes a :class:`DeviceError`; device input never crashes the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from open61850.data import IECData, IntData, UIntData

from vpp.adapters.iec61850.references import DeviceReferences, device_references
from vpp.adapters.iec61850.release import OP_STATE, already_released, release_target
from vpp.adapters.iec61850.session import MmsSession, SessionError
from vpp.adapters.iec61850.values import GarbageValue, reading_from_leaves
from vpp.application.ports import Applied, DeviceError
from vpp.codecs.scl import SclDocument, parse_scl
from vpp.domain.der import DerKind, DerRatings
from vpp.domain.errors import InvalidValue
from vpp.domain.telemetry import Reading

log = logging.getLogger(__name__)
T = TypeVar("T")
CTL_NAMES = {1: "direct", 2: "SBO", 3: "direct-enhanced", 4: "SBO-enhanced"}
RESUBSCRIBE_S = 30.0


class Iec61850Driver:
    def __init__(
        self,
        der_id: str,
        kind: DerKind,
        host: str,
        port: int,
        ied: str,
        ld: str,
        scl: SclDocument | Path,
        *,
        timeout_s: float = 2.0,
        poll_s: float = 1.0,
        default_p_w: float | None = None,
        ratings: DerRatings | None = None,
    ) -> None:
        doc = scl if isinstance(scl, SclDocument) else parse_scl(Path(scl).read_text("utf-8"))
        self.refs: DeviceReferences = device_references(doc, ied, ld)
        self._der_id = der_id
        self.kind = kind
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.default_p_w = default_p_w  # None = autonomous default mode
        self.ratings = ratings
        self.report_block: str | None = None
        self.reports_received = 0
        self.fallback_reads = 0
        self._session: MmsSession | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._state: dict[str, IECData] = {}
        self._updated = 0.0  # monotonic time of the last report or read
        self._entry_id: bytes | None = None
        self._next_subscribe = 0.0
        self._written = False  # a setpoint written by this driver and not yet released
        self._device_ratings: tuple[float, float] | None = None
        self._revert: asyncio.TimerHandle | None = None
        self._revert_task: asyncio.Task[None] | None = None

    @property
    def der_id(self) -> str:
        return self._der_id

    @property
    def stale_after_s(self) -> float:
        """How long report-fed values count as current before a read is made instead."""
        return max(2.0 * self.poll_s, 1.5 * self.refs.integrity_ms / 1000.0)

    @property
    def ctl_model(self) -> int:
        return self._session.ctl_model if self._session else self.refs.setpoint_ctl_model

    # -- the dedicated thread ---------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any, requests: int = 2) -> T:
        if self._executor is None or self._session is None:
            raise DeviceError(self.der_id, "not connected")
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, fn, *args),
                requests * self.timeout_s + 1.0,
            )
        except TimeoutError as exc:
            await self._drop_session()
            raise DeviceError(self.der_id, f"{fn.__name__}: no answer (timeout)") from exc
        except SessionError as exc:
            if exc.transient:
                await self._drop_session()
            raise DeviceError(self.der_id, str(exc), transient=exc.transient) from exc
        except Exception as exc:  # whatever a device's bytes provoke inside the library
            await self._drop_session()
            reason = f"garbage from device: {type(exc).__name__}: {exc}"
            raise DeviceError(self.der_id, reason) from exc

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        executor, self._executor = self._executor, None
        if session is not None:
            await asyncio.to_thread(session.close)  # fails the stuck request, frees the thread
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _on_leaves(self, update: dict[str, IECData], entry_id: bytes | None) -> None:
        with self._lock:
            self._state.update(update)
            self._updated = time.monotonic()
            self.reports_received += 1
            if entry_id:
                self._entry_id = entry_id

    # -- DeviceDriver -----------------------------------------------------------------

    async def connect(self) -> None:
        await self._drop_session()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"iec61850-{self.der_id}")
        self._session = MmsSession(self.refs, self.host, self.port, self.timeout_s, self._on_leaves)
        requests = 4 + len(self.refs.data_set_members)
        await self._call(self._session.open, requests=requests)
        self.report_block = None
        await self._subscribe()
        await self._poll()
        self._device_ratings = await self._call(self._session.read_ratings)

    async def _subscribe(self) -> None:
        """Enable a report; without one, poll and try again every ``RESUBSCRIBE_S``."""
        assert self._session is not None
        self._next_subscribe = time.monotonic() + RESUBSCRIBE_S
        if not (self.refs.buffered_rcbs or self.refs.unbuffered_rcbs):
            return
        integrity_ms = self.refs.integrity_ms or round(self.poll_s * 1000)
        block = await self._call(self._session.subscribe, integrity_ms, self._entry_id, requests=16)
        self.report_block = block
        if block is None:
            log.warning("%s: no report could be enabled; reading every poll", self.der_id)

    async def _poll(self) -> None:
        assert self._session is not None
        update = await self._call(self._session.read_members)
        with self._lock:
            self._state.update(update)
            self._updated = time.monotonic()
        self.fallback_reads += 1

    async def read(self) -> Reading:
        session = self._session
        if session is None or not session.connected:
            await self._drop_session()
            raise DeviceError(self.der_id, "not connected (association lost)")
        if self.report_block is None and time.monotonic() > self._next_subscribe:
            await self._subscribe()
        if self.report_block is None or time.monotonic() - self._updated > self.stale_after_s:
            await self._poll()
        with self._lock:
            state = dict(self._state)
        try:
            return reading_from_leaves(
                self.der_id, state, self.refs.measurements, session.multipliers
            )
        except (GarbageValue, InvalidValue) as exc:
            raise DeviceError(self.der_id, f"garbage from device: {exc}") from exc

    async def apply_setpoint(self, p_w: float, revert_after_s: float) -> Applied:
        if not math.isfinite(p_w) or not math.isfinite(revert_after_s):
            reason = f"not a setpoint: {p_w} W, revert after {revert_after_s} s"
            raise DeviceError(self.der_id, reason, transient=False)
        session = self._session
        if session is None:
            raise DeviceError(self.der_id, "not connected")
        tms = max(1, round(revert_after_s))
        if session.reversion is not None:
            await self._call(session.write_reversion, tms)
            how = f"device reverts after {tms}s ({session.reversion})"
        else:
            how = f"gateway reverts after {tms}s (model has no reversion timer)"
        self._written = True  # from now on, release() must write even if GnOpSt lags
        sent = await self._call(session.operate_setpoint, p_w, requests=3)
        self._arm_reversion(revert_after_s)
        ctl = CTL_NAMES.get(session.ctl_model, str(session.ctl_model))
        return Applied(sent, f"DRCC1.OutWSet ({ctl}); {how}")

    def _arm_reversion(self, after_s: float) -> None:
        if self._revert is not None:
            self._revert.cancel()
        loop = asyncio.get_running_loop()
        self._revert = loop.call_later(max(0.0, after_s), self._start_reversion)

    def _start_reversion(self) -> None:
        self._revert = None
        self._revert_task = asyncio.get_running_loop().create_task(self._revert_now())

    async def _revert_now(self) -> None:
        try:
            await self.release()
            log.info("%s: setpoint not refreshed, returned to default", self.der_id)
        except DeviceError as exc:
            log.warning("%s: reversion to default failed: %s", self.der_id, exc)

    def release_setpoint_w(self) -> float:
        """What :meth:`release` writes: the fixed default, else the autonomous equivalent."""
        limits = None
        if self.ratings is not None:
            limits = (self.ratings.p_min_w, self.ratings.p_max_w)
        elif self._device_ratings is not None:
            limits = (-self._device_ratings[1], self._device_ratings[0])
        return release_target(self.kind, self.default_p_w, limits)

    async def release(self) -> None:
        """Default mode now (IEC 61850 has no "setpoint off": see the module docstring)."""
        if self._revert is not None:
            self._revert.cancel()
            self._revert = None
        session = self._session
        if session is None:
            raise DeviceError(self.der_id, "not connected")
        target = self.release_setpoint_w()
        if (
            self.default_p_w is None
            and not self._written
            and already_released(self._op_state(), target)
        ):
            return  # the device already does what the write would approximate
        if session.reversion is not None:
            await self._call(session.write_reversion, 0)  # the default is not temporary
        await self._call(session.operate_setpoint, target, requests=3)
        self._written = False

    def _op_state(self) -> int | None:
        with self._lock:
            state = self._state.get(OP_STATE)
        return state.value if isinstance(state, IntData | UIntData) else None

    async def close(self) -> None:
        if self._revert is not None:
            self._revert.cancel()
            self._revert = None
        if self._revert_task is not None and not self._revert_task.done():
            self._revert_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._revert_task
        await self._drop_session()

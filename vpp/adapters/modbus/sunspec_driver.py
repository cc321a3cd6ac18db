"""SunSpec over Modbus TCP: the gateway's :class:`DeviceDriver` for inverters, batteries,
EV chargers and other DERs that expose models 1/701/702/704 (+713 storage, +715).

* connect: find ``SunS``, walk the model chain, read 702 (ratings, ``WMax``) and the scale
  factors of 701/704/713 once, and program the reversion values (``*EnaRvrt``,
  ``WSetRvrt``) to the device's configured default mode.
* read: one request for 701 (``ID`` .. ``Tmp_SF``), one for 713 on storage, one for 122
  ``WAval`` on PV and one for vpp's model 64960 on a heat pump or flexible load (see
  :mod:`.sunspec_state`); the reading is stamped with the time the answer arrived
  (SunSpec carries no source timestamp).
* apply_setpoint: PV curtails through ``WMaxLimPct`` (% of ``WMax``); every other kind
  sets ``WSet`` in watts.  ``*RvrtTms`` is written with every setpoint, so the device
  falls back by itself when the gateway stops refreshing.
* 715 ``ControllerHb`` is incremented every ``heartbeat_s`` while the device is read.

Every library error becomes a :class:`DeviceError`; garbage never escapes as anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient

from vpp.adapters.modbus.sunspec_models import model_layout
from vpp.adapters.modbus.sunspec_ratings import ratings_from_nameplate
from vpp.adapters.modbus.sunspec_state import (
    AVAILABLE_SPAN,
    STATE_SPAN,
    DeviceState,
    available,
    thermal_or_job,
)
from vpp.application.ports import Applied, DeviceError
from vpp.codecs import sunspec as ss
from vpp.domain.der import DerKind, DerRatings
from vpp.domain.telemetry import Reading
from vpp.domain.units import Quality

log = logging.getLogger(__name__)

M701_READ = ("ID", "Tmp_SF")  # first .. last point read every poll (123 registers)
INV_ST_FAULT = 5


def raw_full(sf: int) -> int:
    """100 % in ``WMaxLimPct`` units."""
    return round(100.0 / 10.0**sf)


class SunSpecDriver:
    def __init__(
        self,
        der_id: str,
        kind: DerKind,
        host: str,
        port: int,
        unit_id: int = 1,
        *,
        timeout_s: float = 2.0,
        default_p_w: float | None = None,
        ratings: DerRatings | None = None,
        heartbeat_s: float = 5.0,
    ) -> None:
        self._der_id = der_id
        self.kind = kind
        self.host, self.port, self.unit_id = host, port, unit_id
        self.timeout_s = timeout_s
        self.default_p_w = default_p_w  # None = autonomous default mode
        self.configured_ratings = ratings
        self.heartbeat_s = heartbeat_s
        self.models: dict[int, int] = {}  # model id -> address of its ID register
        self.sfs: dict[int, dict[str, int]] = {}
        self.w_max: float | None = None
        self._ratings: DerRatings | None = ratings
        self._client: AsyncModbusTcpClient | None = None
        self._hb = 0
        self._hb_due = 0.0

    @property
    def der_id(self) -> str:
        return self._der_id

    def discovered_ratings(self) -> DerRatings | None:
        return self._ratings

    # -- I/O primitives ---------------------------------------------------------------------

    async def _read(self, address: int, count: int) -> list[int]:
        client = self._client
        if client is None or not client.connected:
            raise DeviceError(self.der_id, "not connected")
        try:
            rr = await asyncio.wait_for(
                client.read_holding_registers(address, count=count, device_id=self.unit_id),
                self.timeout_s + 1.0,
            )
        except (TimeoutError, Exception) as exc:
            raise DeviceError(self.der_id, f"read {address}+{count}: {exc or 'timeout'}") from exc
        if rr.isError():
            raise DeviceError(self.der_id, f"read {address}+{count} refused: {rr}", transient=False)
        regs = list(rr.registers)
        if len(regs) != count:
            raise DeviceError(self.der_id, f"read {address}+{count} got {len(regs)} registers")
        return regs

    async def _write(self, address: int, values: Sequence[int]) -> None:
        client = self._client
        if client is None or not client.connected:
            raise DeviceError(self.der_id, "not connected")
        try:
            rr = await asyncio.wait_for(
                client.write_registers(address, list(values), device_id=self.unit_id),
                self.timeout_s + 1.0,
            )
        except (TimeoutError, Exception) as exc:
            raise DeviceError(self.der_id, f"write {address}: {exc or 'timeout'}") from exc
        if rr.isError():
            raise DeviceError(self.der_id, f"write {address} refused: {rr}", transient=False)

    async def _write_points(self, model_id: int, values: dict[str, int]) -> None:
        offset, regs = ss.encode_writes(model_layout(model_id), values)
        await self._write(self.models[model_id] + offset, regs)

    async def _block(self, model_id: int, first: str, last: str) -> ss.ModelBlock:
        layout = model_layout(model_id)
        offset, count = layout.span(first, last)
        regs = await self._read(self.models[model_id] + offset, count)
        return ss.ModelBlock(layout, offset, regs)

    # -- DeviceDriver -----------------------------------------------------------------------

    async def connect(self) -> None:
        await self.close()
        self._client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            ok = await asyncio.wait_for(self._client.connect(), self.timeout_s + 1.0)
        except (TimeoutError, Exception) as exc:
            ok = False
            reason = str(exc) or "timeout"
        else:
            reason = "refused"
        if not ok:
            await self.close()
            raise DeviceError(self.der_id, f"cannot connect to {self.host}:{self.port}: {reason}")
        try:
            await self._discover()
        except ss.SunSpecDecodeError as exc:
            await self.close()
            raise DeviceError(self.der_id, str(exc)) from exc
        except DeviceError:
            await self.close()
            raise

    async def _discover(self) -> None:
        base = None
        for candidate in ss.BASE_ADDRESSES:
            try:
                if ss.is_suns_marker(await self._read(candidate, 2)):
                    base = candidate
                    break
            except DeviceError as exc:
                if exc.transient:  # no answer at all: trying other addresses only waits longer
                    raise
                continue
        if base is None:
            raise ss.SunSpecDecodeError("no SunS marker at 40000, 0 or 50000")
        self.models = {}
        addr = base + 2
        for _ in range(64):
            model_id, length = ss.parse_header(await self._read(addr, 2))
            if model_id == ss.END_MODEL_ID:
                break
            self.models[model_id] = addr
            addr += 2 + length
        else:
            raise ss.SunSpecDecodeError("model chain has no end marker")
        for required in (1, 701, 702, 704):
            if required not in self.models:
                raise ss.SunSpecDecodeError(f"device lacks SunSpec model {required}")
        m702 = await self._block(702, "ID", "S_SF")
        self.sfs = {702: m702.scale_factors()}
        self.sfs[701] = (await self._block(701, "A_SF", "Tmp_SF")).scale_factors()
        self.sfs[704] = (await self._block(704, "PF_SF", "VarSetPct_SF")).scale_factors()
        for mid, first, last in self._extra_spans():
            self.sfs[mid] = (await self._block(mid, first, last)).scale_factors()
        m713 = None
        if 713 in self.models:
            m713 = await self._block(713, "ID", "Pct_SF")
            self.sfs[713] = m713.scale_factors()
        self.w_max = m702.value("WMax") or m702.value("WMaxRtg")
        if self.configured_ratings is None:
            self._ratings = ratings_from_nameplate(self.kind, m702, m713)
        await self._program_reversion()

    def _extra_spans(self) -> list[tuple[int, str, str]]:
        """The state blocks this device has and this kind reads (beyond 701/713)."""
        spans = []
        if self.kind is DerKind.PV and AVAILABLE_SPAN[0] in self.models:
            spans.append(AVAILABLE_SPAN)
        if self.kind in (DerKind.HEAT_PUMP, DerKind.FLEXIBLE_LOAD) and STATE_SPAN[0] in self.models:
            spans.append(STATE_SPAN)
        return spans

    async def _state(self, ts: datetime) -> DeviceState:
        state = DeviceState()
        for mid, first, last in self._extra_spans():
            block = await self._block(mid, first, last)
            sfs = self.sfs.get(mid, {})
            if mid == AVAILABLE_SPAN[0]:
                state = available(block, sfs, state)
            else:
                state = thermal_or_job(self.kind, block, sfs, ts, state)
        return state

    async def _program_reversion(self) -> None:
        """Release the device and set what it falls back to by itself: its default mode."""
        await self.release()

    async def _write_wset(self, ena: int, p_w: float, tms: int) -> float:
        """The whole ``WSet*`` group in one write: setpoint, reversion value and timer."""
        sf = self.sfs.get(704, {}).get("WSet_SF", 0)
        raw = round(p_w / 10.0**sf)
        fixed = self.default_p_w is not None
        await self._write_points(
            704,
            {
                "WSetEna": ena,
                "WSetMod": 1,
                "WSet": raw,
                "WSetRvrt": round((self.default_p_w or 0.0) / 10.0**sf),
                "WSetPct": 0,
                "WSetPctRvrt": 0,
                "WSetEnaRvrt": 1 if fixed else 0,
                "WSetRvrtTms": tms,
            },
        )
        return raw * 10.0**sf

    async def _write_wmaxlim(self, ena: int, p_w: float, tms: int) -> float:
        """The whole ``WMaxLimPct*`` group in one write (curtailment of PV)."""
        sf = self.sfs.get(704, {}).get("WMaxLimPct_SF", 0)
        raw = self._pct_raw(p_w)
        fixed = self.default_p_w is not None
        await self._write_points(
            704,
            {
                "WMaxLimPctEna": ena,
                "WMaxLimPct": raw,
                "WMaxLimPctRvrt": (
                    raw_full(sf) if self.default_p_w is None else self._pct_raw(self.default_p_w)
                ),
                "WMaxLimPctEnaRvrt": 1 if fixed else 0,
                "WMaxLimPctRvrtTms": tms,
            },
        )
        return raw * 10.0**sf / 100.0 * (self.w_max or 0.0)

    def _pct_raw(self, p_w: float) -> int:
        sf = self.sfs.get(704, {}).get("WMaxLimPct_SF", 0)
        w_max = self.w_max or 1.0
        pct = min(100.0, max(0.0, p_w / w_max * 100.0))
        return round(pct / 10.0**sf)

    async def read(self) -> Reading:
        block = await self._block(701, *M701_READ)
        ts = datetime.now(UTC)
        sfs = self.sfs.get(701, {})
        try:
            if block.raw("ID") != 701:
                raise ss.SunSpecDecodeError(f"model 701 moved (found {block.raw('ID')})")
            p_w = block.value("W", sfs)
            quality = Quality.GOOD
            inv_st = block.raw("InvSt")
            if p_w is None:
                p_w, quality = 0.0, Quality.INVALID
            elif inv_st == INV_ST_FAULT:
                quality = Quality.QUESTIONABLE
            soc = None
            connected = None
            if 713 in self.models:
                m713 = await self._block(713, "ID", "Pct_SF")
                pct = m713.value("SoC", self.sfs.get(713))
                soc = None if pct is None else min(1.0, max(0.0, pct / 100.0))
                if self.kind is DerKind.EV_CHARGER:
                    connected = soc is not None
            state = await self._state(ts)
            reading = Reading(
                der_id=self.der_id,
                ts=ts,
                p_w=p_w,
                quality=quality,
                q_var=block.value("Var", sfs),
                soc=soc if state.soc is None else state.soc,
                energy_wh=state.energy_wh,
                p_avail_w=state.p_avail_w,
                connected=connected,
                v_v=block.value("LNV", sfs) or block.value("LLV", sfs),
                hz=block.value("Hz", sfs),
                temp_c=state.temp_c,
                deadline=state.deadline,
            )
        except (ss.SunSpecDecodeError, ValueError) as exc:
            raise DeviceError(self.der_id, f"garbage from device: {exc}") from exc
        await self._heartbeat()
        return reading

    async def _heartbeat(self) -> None:
        if 715 not in self.models or time.monotonic() < self._hb_due:
            return
        self._hb = (self._hb + 1) & 0xFFFFFFFF
        self._hb_due = time.monotonic() + self.heartbeat_s
        try:
            await self._write_points(715, {"ControllerHb": self._hb})
        except DeviceError as exc:
            if exc.transient:
                raise
            log.warning("%s refuses the 715 heartbeat (%s); not sent again", self.der_id, exc)
            self._hb_due = float("inf")

    async def apply_setpoint(self, p_w: float, revert_after_s: float) -> Applied:
        tms = max(1, round(revert_after_s))
        if self.kind is DerKind.PV:
            applied = await self._write_wmaxlim(1, p_w, tms)
            return Applied(applied, f"WMaxLimPct of WMax {self.w_max:g} W, revert {tms}s")
        applied = await self._write_wset(1, p_w, tms)
        return Applied(applied, f"WSet, revert {tms}s")

    async def release(self) -> None:
        """Default mode now: autonomous (controls disabled) or the configured fixed power."""
        fixed = self.default_p_w is not None
        if self.kind is DerKind.PV:
            target = self.default_p_w if fixed else (self.w_max or 0.0)
            await self._write_wmaxlim(1 if fixed else 0, target or 0.0, 0)
        else:
            await self._write_wset(1 if fixed else 0, self.default_p_w or 0.0, 0)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

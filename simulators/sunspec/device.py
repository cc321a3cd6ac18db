"""One simulated SunSpec device: register image, live values, validated 704 controls.

Sans-I/O: the Modbus server hands every request to :meth:`SunSpecDevice.on_read` or
:meth:`SunSpecDevice.on_write` with the block's registers; this class refreshes them from
the physics, validates writes against the model (out of range → exception 3) and applies
them.  Points outside :data:`WRITABLE` are read-only on the wire (exception 2, enforced
by the server's register flags).  Reversion: while ``WSetEna`` / ``WMaxLimPctEna`` is on
and its ``*RvrtTms`` is non-zero, a write to the group must come again within that many
seconds, else the group falls back to its ``*Rvrt`` values (by default: disabled, so the
device returns to its autonomous mode).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulators.physics import DerModel
from simulators.sunspec.image import build_device_image, scale_factors
from simulators.sunspec.live import live_values
from simulators.sunspec.points import BASE_ADDRESS, PointDef
from vpp.codecs.sunspec import decode_int, encode_raw, fits, is_implemented
from vpp.domain import DerKind

WSET_GROUP = ("WSetEna", "WSetMod", "WSet", "WSetPct", "WSetRvrtTms")
WMAXLIM_GROUP = ("WMaxLimPctEna", "WMaxLimPct", "WMaxLimPctRvrtTms")
ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3


@dataclass(slots=True)
class ReversionTimer:
    deadline: datetime | None = None

    def remaining_s(self, now: datetime) -> int:
        if self.deadline is None:
            return 0
        return max(0, math.ceil((self.deadline - now).total_seconds()))


@dataclass(slots=True)
class Counters:
    wh_injected: float = 0.0
    wh_absorbed: float = 0.0
    heartbeat: int = 0


class SunSpecDevice:
    """A DER model behind a SunSpec register image (models 1, 701, 702, 704, [713], 715)."""

    def __init__(self, model: DerModel, *, unit_id: int = 1) -> None:
        self.model = model
        self.unit_id = unit_id
        self.sf = scale_factors(model.ratings)
        self.image = build_device_image(model, self.sf)
        self.registers = list(self.image.registers)  # the server's copy replaces this
        self.controls: dict[str, int] = {
            p.name: decode_int(p.type, self._slice(p))
            for p in self.image.points.values()
            if p.writable
        }
        starts = sorted(self.image.model_addresses.items(), key=lambda kv: kv[1])
        ends = [a for _, a in starts[1:]] + [BASE_ADDRESS + len(self.image.registers)]
        self._spans = [(mid, a, end) for (mid, a), end in zip(starts, ends, strict=True)]
        self.wset_timer = ReversionTimer()
        self.wmaxlim_timer = ReversionTimer()
        self.counters = Counters()
        self._now: datetime | None = None

    # -- time -----------------------------------------------------------------------

    def tick(self, now: datetime, dt_s: float) -> None:
        """Step the physics and expire reversion timers."""
        self._expire(now)
        self.model.step(now, dt_s)
        p = self.model.p_w
        e = p * dt_s / 3600.0
        if e > 0:
            self.counters.wh_injected += e
        else:
            self.counters.wh_absorbed -= e
        self.counters.heartbeat = (self.counters.heartbeat + 1) & 0xFFFFFFFF
        self._now = now

    def _expire(self, now: datetime) -> None:
        c = self.controls
        if self.wset_timer.deadline is not None and now >= self.wset_timer.deadline:
            c["WSetEna"], c["WSet"] = c["WSetEnaRvrt"], c["WSetRvrt"]
            c["WSetPct"] = c["WSetPctRvrt"]
            self.wset_timer.deadline = None
            self._apply()
        if self.wmaxlim_timer.deadline is not None and now >= self.wmaxlim_timer.deadline:
            c["WMaxLimPctEna"], c["WMaxLimPct"] = c["WMaxLimPctEnaRvrt"], c["WMaxLimPctRvrt"]
            self.wmaxlim_timer.deadline = None
            self._apply()

    # -- requests -------------------------------------------------------------------

    def on_read(
        self, registers: list[int], now: datetime, address: int = 0, count: int = 1 << 16
    ) -> None:
        """Refresh ``registers`` (the server's block from BASE_ADDRESS) in place: the live
        points and control values of the models that ``[address, address + count)`` reads."""
        self._expire(now)
        end = address + count
        models = {mid for mid, lo, hi in self._spans if lo < end and address < hi}
        for point, value in live_values(self, now, models):
            self._put(registers, point, value)
        for name, value in self.controls.items():
            point = self._writable[name]
            if point.model_id in models:
                self._put(registers, point, value)

    def on_write(self, address: int, values: list[int], now: datetime) -> int | None:
        """Validate and apply a write; return a Modbus exception code or ``None``."""
        touched = [
            p
            for p in self._writable.values()
            if p.address < address + len(values) and address < p.address + p.size
        ]
        if not touched:
            return ILLEGAL_ADDRESS
        new: dict[str, int] = {}
        for p in touched:
            regs = list(self._slice(p))
            for i in range(p.size):
                j = p.address + i - address
                if 0 <= j < len(values):
                    regs[i] = values[j]
            new[p.name] = decode_int(p.type, regs)
        for name, raw in new.items():
            if not self._valid(self._writable[name], raw):
                return ILLEGAL_VALUE
        self.controls.update(new)
        self._arm(set(new), now)
        self._apply()
        return None

    # -- rules ----------------------------------------------------------------------

    def _valid(self, p: PointDef, raw: int) -> bool:
        r = self.model.ratings
        if not is_implemented(p.type, raw) or not fits(p.type, raw):
            return False
        if p.symbols and p.type.startswith("enum"):
            return raw in p.symbols
        if p.name in ("WSet", "WSetRvrt"):
            return r.p_min_w <= raw * 10.0**self.sf.wset <= r.p_max_w
        if p.name in ("WSetPct", "WSetPctRvrt"):
            return abs(raw * 10.0**self.sf.pct) <= 100.0
        if p.name in ("WMaxLimPct", "WMaxLimPctRvrt"):
            return 0.0 <= raw * 10.0**self.sf.pct <= 100.0
        if p.name == "WMax":
            return 0 < raw * 10.0**self.sf.w <= self.sf.w_max_rtg
        return True

    def _arm(self, names: set[str], now: datetime) -> None:
        c = self.controls
        if names & set(WSET_GROUP):
            tms = c["WSetRvrtTms"]
            on = c["WSetEna"] == 1 and tms > 0
            self.wset_timer.deadline = now + timedelta(seconds=tms) if on else None
        if names & set(WMAXLIM_GROUP):
            tms = c["WMaxLimPctRvrtTms"]
            on = c["WMaxLimPctEna"] == 1 and tms > 0
            self.wmaxlim_timer.deadline = now + timedelta(seconds=tms) if on else None
        if "OpCtl" in names:
            self.model.set_enabled(c["OpCtl"] in (1, 3))  # START, EXIT_STANDBY

    def _apply(self) -> None:
        """Turn the control points into a setpoint and a limit for the physics."""
        c = self.controls
        w_max = c["WMax"] * 10**self.sf.w
        setpoint: float | None = None
        if c["WSetEna"] == 1:
            if c["WSetMod"] == 1:
                setpoint = c["WSet"] * 10**self.sf.wset
            else:
                setpoint = c["WSetPct"] * 10**self.sf.pct / 100.0 * w_max
                setpoint = max(
                    self.model.ratings.p_min_w, min(self.model.ratings.p_max_w, setpoint)
                )
        limit = None
        if c["WMaxLimPctEna"] == 1:
            limit = c["WMaxLimPct"] * 10**self.sf.pct / 100.0 * w_max
        self.model.set_setpoint(setpoint)
        if self.model.kind is not DerKind.EV_CHARGER:
            self.model.set_limit_w(limit)

    # -- registers ------------------------------------------------------------------

    @property
    def _writable(self) -> Mapping[str, PointDef]:
        return self.image.writable_points

    def _slice(self, p: PointDef) -> list[int]:
        i = p.address - BASE_ADDRESS
        return self.registers[i : i + p.size]

    @staticmethod
    def _put(registers: list[int], p: PointDef, value: int) -> None:
        i = p.address - BASE_ADDRESS
        registers[i : i + p.size] = encode_raw(p.type, value)

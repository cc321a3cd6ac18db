"""Raw telemetry bounded: readings kept ``raw`` (default 2 days), 1-minute roll-ups
``minute`` (30 days), 15-minute roll-ups ``quarter`` (400 days).

:meth:`TelemetryRetention.run_once` deletes, level by level, the rows older than their
horizon — but never rows not yet rolled up into the next level (a roll-up that lags keeps
its raw rows) — in small transactions, then notes each level's new horizon in the store
(``kept_from``: the API serves a range from the finest level that still holds it).  On
TiDB the store expires raw readings by itself (a TTL on the table) and only the roll-ups
are deleted here.  :func:`keep_telemetry_bounded` runs it every ``every_s`` in the
process that owns the roll-ups.

A reading that arrives later than the raw horizon (a gateway's buffer replayed after
days) is rolled up if a roll-up runs before the next retention pass deletes it; a minute
whose earlier readings were deleted already is then recomputed from the late ones only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vpp.application.ports import (
    MINUTE,
    QUARTER,
    RAW,
    Clock,
    TelemetryRetentionStore,
)
from vpp.domain.errors import InvalidValue

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_span(text: str) -> timedelta:
    """``"2d"``, ``"36h"``, ``"90m"``, ``"1w"``, ``"30s"`` as a timedelta (> 0)."""
    m = _SPAN.match(text)
    if m is None:
        raise InvalidValue(f"{text!r}: a span is a number and a unit s, m, h, d or w (2d)")
    span = timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    if span <= timedelta(0):
        raise InvalidValue(f"{text!r}: a span must be longer than zero")
    return span


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long each level is kept, how often retention runs, how many rows a delete
    transaction holds (TiDB keeps transactions small)."""

    raw: timedelta = timedelta(days=2)
    minute: timedelta = timedelta(days=30)
    quarter: timedelta = timedelta(days=400)
    every_s: float = 600.0
    batch_rows: int = 5000

    def __post_init__(self) -> None:
        if min(self.raw, self.minute, self.quarter) <= timedelta(0):
            raise InvalidValue("retention spans must be longer than zero")
        if not self.raw <= self.minute <= self.quarter:
            raise InvalidValue(
                f"a coarser level is kept at least as long as a finer one: raw {self.raw}, "
                f"1m {self.minute}, 15m {self.quarter}"
            )
        if self.every_s <= 0 or self.batch_rows < 1:
            raise InvalidValue("every_s must be > 0 and batch_rows >= 1")

    def keep(self, level: str) -> timedelta:
        return {RAW: self.raw, MINUTE: self.minute, QUARTER: self.quarter}[level]


@dataclass
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)
    kept_from: dict[str, datetime] = field(default_factory=dict)
    raw_by_store: bool = False  # the store expires raw readings itself (TiDB TTL)


class TelemetryRetention:
    def __init__(
        self,
        store: TelemetryRetentionStore,
        clock: Clock,
        settings: RetentionSettings | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings or RetentionSettings()
        self._raw_by_store: bool | None = None

    def run_once(self) -> RetentionReport:
        """One pass over the levels, finest first (blocking: run it in a thread)."""
        st = self.settings
        if self._raw_by_store is None:
            self._raw_by_store = self.store.expires_raw_itself(st.raw)
        report = RetentionReport(raw_by_store=self._raw_by_store)
        now = self.clock.now()
        for level in (RAW, MINUTE, QUARTER):
            cutoff = now - st.keep(level)
            if level == RAW and self._raw_by_store:
                report.deleted[level] = 0
            else:
                if level != QUARTER:
                    rolled = self.store.rolled_up_until(level)
                    cutoff = cutoff if rolled is None else min(cutoff, rolled)
                report.deleted[level] = self.store.delete_before(level, cutoff, st.batch_rows)
            self.store.set_kept_from(level, cutoff)
            report.kept_from[level] = cutoff
        return report


async def keep_telemetry_bounded(retention: TelemetryRetention, stop: asyncio.Event) -> None:
    """:meth:`TelemetryRetention.run_once` at once and every ``every_s`` until ``stop``;
    a failed pass (the store away) is logged and tried again next time."""
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(retention.run_once)
        except Exception as exc:
            delay = min(60.0, retention.settings.every_s)
            log.warning("telemetry retention failed (%s); next pass in %.0f s", exc, delay)
        else:
            if any(report.deleted.values()):
                log.info(
                    "telemetry retention: deleted %s",
                    ", ".join(f"{n} {lvl}" for lvl, n in report.deleted.items()),
                    extra={"deleted": report.deleted},
                )
            delay = retention.settings.every_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)

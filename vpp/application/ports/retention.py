"""Port of telemetry retention: raw readings and their roll-ups deleted past their
horizons, and where each level's rows now begin (the API reads the level that still
holds a range)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

#: the levels of stored telemetry, finest first: raw readings, 1- and 15-minute roll-ups
RAW, MINUTE, QUARTER = "raw", "1m", "15m"
LEVELS: tuple[str, ...] = (RAW, MINUTE, QUARTER)


class TelemetryRetentionStore(Protocol):
    def expires_raw_itself(self, keep: timedelta) -> bool:
        """Have the store expire raw readings older than ``keep`` on its own where it can
        (TiDB: a TTL on the table), and say so; ``False``: :meth:`delete_before` must."""

    def rolled_up_until(self, level: str) -> datetime | None:
        """Rows of ``level`` (raw, 1m) before this instant are in the next coarser
        roll-up; ``None``: all of them are.  Nothing later may be deleted."""

    def delete_before(self, level: str, before: datetime, batch_rows: int) -> int:
        """Delete the rows of ``level`` older than ``before`` in transactions of at most
        ``batch_rows`` rows; returns how many were deleted."""

    def set_kept_from(self, level: str, kept_from: datetime) -> None:
        """Note that the rows of ``level`` before ``kept_from`` are gone."""

    def kept_from(self) -> dict[str, datetime]:
        """Per level, the instant before which its rows have been deleted (levels never
        pruned are absent)."""

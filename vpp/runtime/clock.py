"""The one wall clock: timezone-aware UTC, as DESIGN.md's time convention asks."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class SystemClock:
    """The :class:`vpp.application.ports.Clock` of a running process."""

    def now(self) -> datetime:
        return utc_now()

"""The clock port: use cases take ``now`` from it (tests hand in a fixed one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

"""Ports of a projector group: the board where its processes say they are alive and
claim the units of work (telemetry partitions, the singleton ``main`` unit), and what a
process runs for a unit it owns."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol


class LeaseBoard(Protocol):
    """Membership and leases shared by the processes of one group.

    A member is alive while it keeps calling :meth:`heartbeat`; one that stops for longer
    than the board's time to live is dropped by the next member that looks, and the
    leases it held become free.  Claims are compare-and-set: of two processes claiming the
    same free lease, one wins."""

    async def heartbeat(self, me: str) -> frozenset[str]:
        """Say ``me`` is alive; the members alive now (``me`` included)."""

    async def leave(self, me: str) -> None:
        """``me`` stops: dropped from the members at once."""

    async def owners(self, keys: Iterable[str], members: frozenset[str]) -> dict[str, str | None]:
        """The owner of each lease among ``members``; ``None`` when it is free (never
        claimed, released, or held by a member no longer alive)."""

    async def claim(self, key: str, me: str, members: frozenset[str]) -> bool:
        """Take the lease if it is free (or already ``me``'s); whether ``me`` holds it."""

    async def release(self, key: str, me: str) -> None:
        """Give the lease up if ``me`` holds it (after its work stopped)."""


class UnitRunner(Protocol):
    """The work of one unit, run until ``stop`` is set; returns when its last batch is
    committed (or the store stayed away: the rest is redelivered to the next owner)."""

    async def run(self, stop: asyncio.Event) -> None: ...

"""Ports of the dispatchers' leader election: the lease they compete for, and the fence
the leading one checks before it sends.

The lease is one record with a revision that changes on every write (a JetStream KV key
in production); writes are compare-and-set on that revision, so of two dispatchers that
try to take the same expired lease exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Lease:
    """Who leads, with which fencing epoch; ``released``: its holder stepped down (a
    follower may take over at once)."""

    holder: str
    epoch: int
    released: bool = False


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    lease: Lease
    revision: int


class LeaseStore(Protocol):
    async def read(self) -> LeaseRecord | None:
        """The lease as it is now (``None``: there never was one)."""

    async def create(self, lease: Lease) -> int | None:
        """Write the first lease; its revision, or ``None`` if one exists already."""

    async def replace(self, lease: Lease, revision: int) -> int | None:
        """Write ``lease`` if ``revision`` is still the latest; the new revision, or
        ``None`` if someone else wrote since."""


class Fence(Protocol):
    """What the dispatcher's cycle asks of its leadership."""

    @property
    def epoch(self) -> int:
        """The fencing epoch every command of this leader carries."""

    def holds(self) -> bool:
        """Whether this instance leads, by its own clock (no I/O: cheap, every step)."""

    async def confirm(self) -> bool:
        """Whether it still leads, checked against the lease itself (before a send)."""

"""Which of several dispatchers leads: a lease with a fencing epoch, renewed by its holder.

The lease (a :class:`~vpp.application.ports.LeaseStore` record) names its holder and the
epoch; every write is compare-and-set on the record's revision.

* The **leader** renews it every ``ttl_s / 3`` and leads, by its own monotonic clock,
  until ``ttl_s`` after it *sent* the last successful renewal.  A renewal that loses the
  compare-and-set means someone else took over: it is deposed at once.  Before every
  send batch it confirms against the record itself (:meth:`confirm`).
* A **follower** reads the record every ``poll_s`` and notes when it first saw each
  revision.  A revision unchanged for ``ttl_s`` of its own clock (or a released lease)
  is expired: it writes itself in with the next epoch; of several followers, one wins.

No clocks are compared between machines: the follower's ``ttl_s`` starts when it saw a
revision, which is after the leader sent it, so the leader's lease always ends first.
The epoch is the previous one plus one, and at least the Unix time (s) of the takeover,
so it keeps growing even if the lease record is lost and written anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from vpp.application.ports import Lease, LeaseRecord, LeaseStore
from vpp.domain.errors import VppError

log = logging.getLogger(__name__)


class NotLeading(VppError):
    """This dispatcher lost the lease mid-cycle: it stops sending and writing at once."""


class LeaderElection:
    """One dispatcher's side of the election; implements :class:`~vpp.application.ports.Fence`."""

    def __init__(
        self,
        store: LeaseStore,
        instance: str,
        ttl_s: float,
        *,
        poll_s: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.instance = instance
        self.ttl_s = ttl_s
        self.poll_s = poll_s if poll_s is not None else min(0.5, ttl_s / 8)
        self._mono = monotonic
        self._wall = wall
        self._epoch = 0  # ours while leading, else the last one seen
        self._revision: int | None = None  # of our last write while leading
        self._leading = False
        self._lead_until = 0.0
        self._renew_at = 0.0
        self._seen: LeaseRecord | None = None
        self._seen_at = 0.0
        self.changed = asyncio.Event()  # set whenever leadership is won or lost

    # -- Fence -------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return self._epoch

    def holds(self) -> bool:
        return self._leading and self._mono() < self._lead_until

    async def confirm(self) -> bool:
        """Leads by its clock with a quarter of the lease left, and the record is still
        the one it wrote."""
        if not self.holds() or self._lead_until - self._mono() < self.ttl_s / 4:
            return False
        try:
            rec = await self.store.read()
        except Exception:
            log.warning("lease not readable: not sending", exc_info=True)
            return False
        if rec is None or rec.revision != self._revision:
            self._depose(rec)
            return False
        return True

    # -- what the process sees -----------------------------------------------------------

    @property
    def leader(self) -> str | None:
        """The holder of the lease as last seen (``None``: none, or released)."""
        if self._leading:
            return self.instance
        if self._seen is None or self._seen.lease.released:
            return None
        return self._seen.lease.holder

    def leader_alive(self) -> bool:
        """Whether some instance leads (this one, or one whose lease was renewed lately)."""
        if self.holds():
            return True
        return self.leader is not None and self._mono() - self._seen_at < self.ttl_s

    # -- the election ----------------------------------------------------------------------

    async def step(self) -> None:
        """Renew (leader) or watch and maybe take over (follower); errors of the lease
        store leave things as they are (a leader's lease then runs out by itself)."""
        try:
            if self._leading:
                if self._mono() >= self._renew_at:
                    await self._renew()
            else:
                await self._watch()
        except Exception:
            log.warning("lease step failed", exc_info=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Step every ``poll_s`` until ``stop``; then release the lease if held."""
        while not stop.is_set():
            await self.step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
        await self.release()

    async def release(self) -> None:
        """Step down (a clean stop): a follower takes over without waiting for the TTL."""
        if not self._leading or self._revision is None:
            return
        self._leading = False
        self.changed.set()
        with contextlib.suppress(Exception):
            lease = Lease(self.instance, self._epoch, released=True)
            await self.store.replace(lease, self._revision)
            log.info("lease released (epoch %d)", self._epoch)

    async def _renew(self) -> None:
        assert self._revision is not None
        sent = self._mono()
        revision = await self.store.replace(Lease(self.instance, self._epoch), self._revision)
        if revision is None:
            self._depose(await self.store.read())
            return
        self._revision = revision
        self._lead_until = sent + self.ttl_s
        self._renew_at = sent + self.ttl_s / 3

    async def _watch(self) -> None:
        now = self._mono()
        rec = await self.store.read()
        if rec is None:
            await self._take(None, now)
            return
        if self._seen is None or rec.revision != self._seen.revision:
            self._seen, self._seen_at = rec, now
            self._epoch = max(self._epoch, rec.lease.epoch)
        if rec.lease.released or now - self._seen_at >= self.ttl_s:
            await self._take(rec, now)

    async def _take(self, rec: LeaseRecord | None, sent: float) -> None:
        previous = rec.lease.epoch if rec is not None else self._epoch
        epoch = max(previous + 1, int(self._wall()))
        lease = Lease(self.instance, epoch)
        if rec is None:
            revision = await self.store.create(lease)
        else:
            revision = await self.store.replace(lease, rec.revision)
        if revision is None:
            return  # another follower was faster
        self._epoch, self._revision, self._leading = epoch, revision, True
        self._lead_until = sent + self.ttl_s
        self._renew_at = sent + self.ttl_s / 3
        self._seen = None
        was = f"{rec.lease.holder} (epoch {rec.lease.epoch})" if rec else "nobody"
        log.warning("leading with epoch %d; was %s", epoch, was)
        self.changed.set()

    def _depose(self, rec: LeaseRecord | None) -> None:
        if not self._leading:
            return
        self._leading = False
        self._seen = rec
        self._seen_at = self._mono()
        if rec is not None:
            self._epoch = max(self._epoch, rec.lease.epoch)
        who = rec.lease.holder if rec is not None else "nobody"
        log.warning("deposed: the lease (epoch %d) is now held by %s", self._epoch, who)
        self.changed.set()

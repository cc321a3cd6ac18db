"""The projectors' lease board in the JetStream KV bucket of leases
(:data:`subjects.LEASES_BUCKET`, keys under ``projector.``), implementing
:class:`vpp.application.ports.LeaseBoard`.

- key ``projector.members``: ``{"<instance>": <beat>, ...}``; each heartbeat raises its own beat
  (compare-and-set on the entry's revision, retried on a conflict).  A member whose beat
  this process has not seen change for ``ttl_s`` (its own monotonic clock: no clock of
  another machine is trusted) is dropped from the entry.
- key ``projector.lease.<name>``: ``{"owner": "<instance>"}``; ``""`` once released.  A lease is
  free when it is absent, released, or held by a member no longer in ``members``; a claim
  is a create (absent) or an update on the revision that was read, so one of two
  claimants wins.

Only direct gets and publishes with an expected last sequence: no consumer, so the
projector identity needs just its keys' subjects (:mod:`permissions`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import orjson
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vpp.adapters.nats import subjects

log = logging.getLogger(__name__)

MEMBERS = f"{subjects.PROJECTOR_LEASES}.members"
#: conflicts on ``members`` before a heartbeat gives up for this cycle
_TRIES = 5


def lease_key(name: str) -> str:
    return f"{subjects.PROJECTOR_LEASES}.lease.{name}"


class KvLeaseBoard:
    def __init__(self, js: JetStreamContext, *, ttl_s: float = 5.0) -> None:
        self.js = js
        self.ttl_s = ttl_s
        self._kv: KeyValue | None = None
        self._seen: dict[str, tuple[int, float]] = {}  # member -> (beat, when it changed)
        self._wrote: int | None = None  # this process's last beat

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.js.key_value(subjects.LEASES_BUCKET)
        return self._kv

    async def _read(self, key: str) -> tuple[dict[str, object], int]:
        """The entry's JSON and revision; ``({}, 0)`` when absent or deleted."""
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return {}, 0
        value = orjson.loads(entry.value) if entry.value else {}
        return (value if isinstance(value, dict) else {}), int(entry.revision or 0)

    async def _write(self, key: str, value: dict[str, object], revision: int) -> bool:
        """Compare-and-set; False when someone wrote first."""
        kv = await self._bucket()
        data = orjson.dumps(value)
        try:
            if revision == 0:
                await kv.create(key, data)
            else:
                await kv.update(key, data, last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            # someone wrote first (nats-py's create looks the key up after a clash and may
            # not see the other writer's entry yet on a cluster: KeyNotFoundError)
            return False
        return True

    def _alive(self, beats: dict[str, object], now: float) -> dict[str, int]:
        alive: dict[str, int] = {}
        for name, beat in beats.items():
            if not isinstance(beat, int):
                continue
            seen = self._seen.get(name)
            if seen is None or seen[0] != beat:
                self._seen[name] = (beat, now)
                alive[name] = beat
            elif now - seen[1] <= self.ttl_s:
                alive[name] = beat
        return alive

    async def heartbeat(self, me: str) -> frozenset[str]:
        for _ in range(_TRIES):
            beats, revision = await self._read(MEMBERS)
            alive = self._alive(beats, time.monotonic())
            mine = beats.get(me)
            if self._wrote is not None and mine not in (None, self._wrote):
                log.error(
                    "projector %s: another process beats under this name (instance names "
                    "must be unique): both project the same partitions",
                    me,
                )
            alive[me] = (mine if isinstance(mine, int) else 0) + 1
            if await self._write(MEMBERS, dict(alive), revision):
                self._seen[me] = (alive[me], time.monotonic())
                self._wrote = alive[me]
                return frozenset(alive)
        raise TimeoutError(f"members entry contended {_TRIES} times")

    async def leave(self, me: str) -> None:
        for _ in range(_TRIES):
            beats, revision = await self._read(MEMBERS)
            if me not in beats:
                return
            rest = {k: v for k, v in beats.items() if k != me}
            if await self._write(MEMBERS, rest, revision):
                return

    async def owners(self, keys: Iterable[str], members: frozenset[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for key in keys:
            value, _ = await self._read(lease_key(key))
            owner = value.get("owner")
            found[key] = owner if isinstance(owner, str) and owner in members else None
        return found

    async def claim(self, key: str, me: str, members: frozenset[str]) -> bool:
        """A lease held by someone is taken only when its holder is not in the members
        entry read *after* the lease (``members`` may predate a newcomer that joined and
        claimed since: every member joins before it claims)."""
        value, revision = await self._read(lease_key(key))
        owner = value.get("owner")
        if owner == me:
            return True
        if isinstance(owner, str) and owner:
            beats, _ = await self._read(MEMBERS)
            if owner in members or owner in beats:
                return False
        return await self._write(lease_key(key), {"owner": me}, revision)

    async def release(self, key: str, me: str) -> None:
        value, revision = await self._read(lease_key(key))
        if value.get("owner") == me:
            await self._write(lease_key(key), {"owner": ""}, revision)

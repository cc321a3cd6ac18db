"""The dispatchers' lease in a JetStream KV bucket (``LEASES``, key ``dispatcher``).

The value is JSON ``{"v": 1, "holder", "epoch", "released"}``; the KV revision (the
message's stream sequence) is the record's revision.  ``create`` and ``replace`` are
revision-checked publishes (``Nats-Expected-Last-Subject-Sequence``): the server refuses
a write whose revision is no longer the latest, so compare-and-set needs no lock.

The bucket keeps one value per key, in a file stream, and is created by the ``ops``
identity like the streams (:func:`ensure_lease_bucket`); a dispatcher only reads and
writes its key (``vpp.adapters.nats.permissions``).
"""

from __future__ import annotations

import json

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vpp.adapters.nats import subjects
from vpp.adapters.nats.retry import retrying
from vpp.application.ports import Lease, LeaseRecord
from vpp.domain.errors import InvalidValue

VERSION = 1


async def ensure_lease_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The lease bucket, created if missing (needs the JetStream API rights of ``ops``)."""
    try:
        return await retrying(lambda: js.key_value(subjects.LEASES_BUCKET), "lease bucket")
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=subjects.LEASES_BUCKET,
            description="leases of the processes that need one leader (dispatchers)",
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
            direct=True,
        )
        return await js.create_key_value(config)


def encode_lease(lease: Lease) -> bytes:
    obj = {"v": VERSION, "holder": lease.holder, "epoch": lease.epoch, "released": lease.released}
    return json.dumps(obj, separators=(",", ":")).encode()


def decode_lease(data: bytes) -> Lease:
    obj = json.loads(data)
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise InvalidValue(f"lease value of unknown version: {data[:80]!r}")
    holder, epoch, released = obj.get("holder"), obj.get("epoch"), obj.get("released", False)
    if not isinstance(holder, str) or isinstance(epoch, bool) or not isinstance(epoch, int):
        raise InvalidValue(f"lease value malformed: {data[:80]!r}")
    return Lease(holder, epoch, bool(released))


class NatsLeaseStore:
    """Implements :class:`vpp.application.ports.LeaseStore` on one KV key."""

    def __init__(self, kv: KeyValue, key: str = subjects.DISPATCHER_LEASE) -> None:
        self.kv = kv
        self.key = key

    async def read(self) -> LeaseRecord | None:
        try:
            entry = await self.kv.get(self.key)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.revision is None:
            return None
        return LeaseRecord(decode_lease(entry.value), entry.revision)

    async def create(self, lease: Lease) -> int | None:
        try:
            return await self.kv.create(self.key, encode_lease(lease))
        except (KeyWrongLastSequenceError, KeyNotFoundError):  # someone created it first
            return None

    async def replace(self, lease: Lease, revision: int) -> int | None:
        try:
            return await self.kv.update(self.key, encode_lease(lease), last=revision)
        except KeyWrongLastSequenceError:
            return None

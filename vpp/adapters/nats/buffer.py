"""Store-and-forward: telemetry batches on local disk until JetStream has acknowledged them.

Every batch is written here first (an SQLite file in the gateway's data dir, WAL,
``synchronous=FULL``), then forwarded in order and deleted once JetStream acks it. So a
reading survives an uplink outage, a nats-server restart and a crash of the gateway.

The bound: when ``max_bytes`` would be exceeded, the **oldest** batches are dropped to
make room (the newest state of the devices matters most to a dispatcher).  Every drop is
counted — batches and readings — in the file itself and reported through
:attr:`DiskTelemetryBuffer.dropped_readings`; it is never silent.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from vpp.runtime import private_dir, private_sqlite_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    readings INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class BufferedBatch:
    seq: int
    subject: str
    msg_id: str
    payload: bytes
    readings: int
    created: float  # wall-clock seconds (time.time()) when it was buffered


class DiskTelemetryBuffer:
    """A bounded FIFO of encoded telemetry batches in one SQLite file."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        private_dir(path.parent)  # owner-only: the data dir 0700, the file and its WAL 0600
        self.path = private_sqlite_file(path)
        self.max_bytes = max_bytes
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), COALESCE(SUM(readings), 0) "
            "FROM batch"
        ).fetchone()
        self._batches, self._bytes, self._readings = int(row[0]), int(row[1]), int(row[2])

    # -- state ------------------------------------------------------------------------

    @property
    def depth_batches(self) -> int:
        return self._batches

    @property
    def depth_readings(self) -> int:
        return self._readings

    @property
    def depth_bytes(self) -> int:
        return self._bytes

    def _counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counter WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    @property
    def dropped_batches(self) -> int:
        return self._counter("dropped_batches")

    @property
    def dropped_readings(self) -> int:
        return self._counter("dropped_readings")

    # -- operations ---------------------------------------------------------------------

    def append(
        self, subject: str, msg_id: str, payload: bytes, readings: int, created: float | None = None
    ) -> int:
        """Buffer one batch durably; return how many readings were dropped to make room."""
        created = time.time() if created is None else created
        dropped = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            dropped = self._make_room(len(payload))
            self._db.execute(
                "INSERT INTO batch (subject, msg_id, payload, readings, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (subject, msg_id, payload, readings, created),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._batches += 1
        self._bytes += len(payload)
        self._readings += readings
        return dropped

    def _make_room(self, incoming: int) -> int:
        dropped_readings = 0
        while self._batches > 0 and self._bytes + incoming > self.max_bytes:
            seq, size, n = self._db.execute(
                "SELECT seq, LENGTH(payload), readings FROM batch ORDER BY seq LIMIT 1"
            ).fetchone()
            self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
            self._batches -= 1
            self._bytes -= int(size)
            self._readings -= int(n)
            dropped_readings += int(n)
            for name, value in (("dropped_batches", 1), ("dropped_readings", int(n))):
                self._db.execute(
                    "INSERT INTO counter (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (name, value),
                )
        return dropped_readings

    def oldest(self, limit: int) -> list[BufferedBatch]:
        rows = self._db.execute(
            "SELECT seq, subject, msg_id, payload, readings, created FROM batch "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [BufferedBatch(int(r[0]), r[1], r[2], bytes(r[3]), int(r[4]), r[5]) for r in rows]

    def remove(self, batches: list[BufferedBatch]) -> None:
        """Forget batches JetStream has acknowledged (those still present)."""
        if not batches:
            return
        seqs = [b.seq for b in batches]
        marks = ",".join("?" * len(seqs))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), "
                f"COALESCE(SUM(readings), 0) FROM batch WHERE seq IN ({marks})",
                seqs,
            ).fetchone()
            self._db.execute(f"DELETE FROM batch WHERE seq IN ({marks})", seqs)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._batches -= int(row[0])
        self._bytes -= int(row[1])
        self._readings -= int(row[2])

    def close(self) -> None:
        self._db.close()

"""The gateway's command ledger: last applied sequence per DER and the ack of every
recent command, in an SQLite file in the data dir.

It makes commands idempotent across restarts: a restarted gateway never re-applies an
old sequence, and a command delivered twice (JetStream redelivers what was not acked) is
answered with the ack it already got, not applied again.  It also keeps the highest
dispatcher fencing epoch seen, so a restarted gateway still refuses a deposed leader's
commands.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from vpp.adapters.nats import codec
from vpp.domain.commands import AckOutcome, CommandAck
from vpp.runtime import private_dir, private_sqlite_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS last_applied (
    der_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, command_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ack (
    command_id TEXT PRIMARY KEY, n INTEGER NOT NULL, payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ack_n ON ack (n);
CREATE TABLE IF NOT EXISTS fence (
    id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL
);
"""


class SqliteCommandLedger:
    """Reads on the caller's connection; writes group-committed on a second connection in
    a worker thread: the acks of concurrently applied commands share one transaction and
    one ``fsync`` (``synchronous=FULL``), and the event loop never waits for the disk.
    """

    def __init__(self, path: Path, *, keep_acks: int = 100_000) -> None:
        private_dir(path.parent)  # owner-only: the data dir 0700, the file and its WAL 0600
        self.path = private_sqlite_file(path)
        self.keep_acks = keep_acks
        self._db = self._connect(path)
        self._db.executescript(_SCHEMA)
        self._writer = self._connect(path)
        row = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM ack").fetchone()
        self._n = int(row[0])
        fence = self._db.execute("SELECT epoch FROM fence WHERE id = 1").fetchone()
        self._epoch = 0 if fence is None else int(fence[0])
        self._fence_lock = asyncio.Lock()
        self._queue: list[tuple[CommandAck, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0  # transactions written (for tests and metrics)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def last_seq(self, der_id: str) -> int | None:
        row = self._db.execute(
            "SELECT seq FROM last_applied WHERE der_id = ?", (der_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def known_ack(self, command_id: str) -> CommandAck | None:
        row = self._db.execute(
            "SELECT payload FROM ack WHERE command_id = ?", (command_id,)
        ).fetchone()
        return None if row is None else codec.decode_ack(bytes(row[0]))

    def highest_epoch(self) -> int:
        return self._epoch

    async def raise_epoch(self, epoch: int) -> None:
        """Durable (its own connection and transaction: epochs change rarely)."""
        async with self._fence_lock:
            if epoch <= self._epoch:
                return
            await asyncio.to_thread(self._write_epoch, epoch)
            self._epoch = epoch

    def _write_epoch(self, epoch: int) -> None:
        db = self._connect(self.path)
        try:
            db.execute(
                "INSERT INTO fence (id, epoch) VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                "SET epoch = excluded.epoch WHERE excluded.epoch > fence.epoch",
                (epoch,),
            )
        finally:
            db.close()

    async def record(self, ack: CommandAck) -> None:
        """Remember the ack (an applied command also becomes the DER's last sequence);
        returns when it is on disk, together with whatever else was waiting."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((ack, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="ledger-commit")
        await future

    async def _flush(self) -> None:
        while self._queue:
            group, self._queue = self._queue, []
            try:
                await asyncio.to_thread(self._write, [ack for ack, _ in group])
            except BaseException as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)

    def _write(self, acks: list[CommandAck]) -> None:
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            for ack in acks:
                self._n += 1
                db.execute(
                    "INSERT OR REPLACE INTO ack (command_id, n, payload) VALUES (?, ?, ?)",
                    (ack.command_id, self._n, codec.encode_ack(ack)),
                )
                if ack.outcome is AckOutcome.APPLIED:
                    db.execute(
                        "INSERT INTO last_applied (der_id, seq, command_id) VALUES (?, ?, ?) "
                        "ON CONFLICT(der_id) DO UPDATE SET seq = excluded.seq, "
                        "command_id = excluded.command_id WHERE excluded.seq > last_applied.seq",
                        (ack.der_id, ack.seq, ack.command_id),
                    )
                if self._n % 1000 == 0:
                    db.execute("DELETE FROM ack WHERE n <= ?", (self._n - self.keep_acks,))
            db.execute("COMMIT")
            self.commits += 1
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def reset_der(self, der_id: str) -> tuple[int, str] | None:
        """Forget the last applied sequence of ``der_id`` (an operator's repair after a
        forged sequence got in); returns what was removed, ``(seq, command_id)``, or None.
        The acks stay: a command id already answered is still never applied again."""
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT seq, command_id FROM last_applied WHERE der_id = ?", (der_id,)
            ).fetchone()
            db.execute("DELETE FROM last_applied WHERE der_id = ?", (der_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return None if row is None else (int(row[0]), str(row[1]))

    def close(self) -> None:
        self._db.close()
        self._writer.close()

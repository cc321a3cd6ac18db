"""The gateway's command ledger: last applied sequence per DER and the ack of every
recent command, in an SQLite file in the data dir.

It makes commands idempotent across restarts: a restarted gateway never re-applies an
old sequence, and a command delivered twice (JetStream redelivers what was not acked) is
answered with the ack it already got, not applied again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vpp.adapters.nats import codec
from vpp.domain.commands import AckOutcome, CommandAck

_SCHEMA = """
CREATE TABLE IF NOT EXISTS last_applied (
    der_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, command_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ack (
    command_id TEXT PRIMARY KEY, n INTEGER NOT NULL, payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ack_n ON ack (n);
"""


class SqliteCommandLedger:
    def __init__(self, path: Path, *, keep_acks: int = 100_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.keep_acks = keep_acks
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM ack").fetchone()
        self._n = int(row[0])

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

    def record(self, ack: CommandAck) -> None:
        """Remember the ack; an applied command also becomes the DER's last sequence."""
        self._n += 1
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO ack (command_id, n, payload) VALUES (?, ?, ?)",
                (ack.command_id, self._n, codec.encode_ack(ack)),
            )
            if ack.outcome is AckOutcome.APPLIED:
                self._db.execute(
                    "INSERT INTO last_applied (der_id, seq, command_id) VALUES (?, ?, ?) "
                    "ON CONFLICT(der_id) DO UPDATE SET seq = excluded.seq, "
                    "command_id = excluded.command_id WHERE excluded.seq > last_applied.seq",
                    (ack.der_id, ack.seq, ack.command_id),
                )
            if self._n % 1000 == 0:
                self._db.execute("DELETE FROM ack WHERE n <= ?", (self._n - self.keep_acks,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

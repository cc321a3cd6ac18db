"""Owner-only files and directories for local state (issue 11: a gateway's buffer and
command ledger, the embedded store): nobody but the process's user reads or alters them.

SQLite creates its ``-wal``, ``-shm`` and ``-journal`` files with the mode of the
database file, so a database file made owner-only before its first connection keeps
its companions owner-only too; those left by an earlier run are restricted here as well.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``path`` created if missing, and in any case accessible to its owner only."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_sqlite_file(path: Path) -> Path:
    """The SQLite database file ``path`` (created empty if missing, which SQLite takes
    for a new database) and its companions, readable and writable by the owner only.
    The directory must exist.

    An existing file is never opened here: closing any descriptor of a file drops every
    POSIX lock the process holds on it, so a second engine made for a database this
    process has open would take its connections' locks away (SQLite's known pitfall):
    another process then takes the database for unused, rebuilds the WAL index, and the
    two stop seeing each other's commits ("disk I/O error" follows)."""
    if path.exists():
        os.chmod(path, FILE_MODE)  # an older file, or a umask that left less than 0600
    else:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)
    return path

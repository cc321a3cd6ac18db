"""The tests' private MariaDB: :mod:`vpp.adapters.store.mariadb_server`, stopped after use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from vpp.adapters.store.mariadb_server import MariaDbServer, MariaDbUnavailable, start_mariadb

__all__ = ["MariaDbServer", "MariaDbUnavailable", "private_mariadb"]


@contextlib.contextmanager
def private_mariadb(base: Path) -> Iterator[MariaDbServer]:
    """A MariaDB of its own under ``base`` for as long as the block runs."""
    server = start_mariadb(base)
    try:
        yield server
    finally:
        server.stop()

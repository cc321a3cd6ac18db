"""Engines for the store: SQLite (embedded default) or a MySQL-protocol server."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from vpp.application.ports import StoreError
from vpp.runtime import private_sqlite_file


def data_dir() -> Path:
    """``$VPP_DATA_DIR``, else ``~/.local/share/vpp`` (XDG)."""
    env = os.environ.get("VPP_DATA_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "vpp"


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'vpp.sqlite'}"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: the SQLite file under the data directory).

    SQLite gets WAL and a busy timeout so the projector and the API can share the file,
    which is owner-only (0600, its directory 0700 when created here); MySQL/TiDB gets
    pre-ping and recycling (TiDB closes idle connections).
    """
    url = url or default_url()
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            db_file = Path(parsed.database)
            db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # owner-only, as its -wal and -shm then are; a path that cannot be a database
            # file (a directory, another user's file) is left for the first connection to report
            with contextlib.suppress(IsADirectoryError, NotADirectoryError, PermissionError):
                private_sqlite_file(db_file)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con: Any, _record: Any) -> None:
            # the sqlite3 module begins a transaction only before a write, so the reads
            # of a read-then-write transaction ran outside it; vpp begins it itself
            dbapi_con.isolation_level = None
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(con: Any) -> None:
            con.exec_driver_sql("BEGIN")

        return engine
    if backend in ("mysql", "mariadb"):
        if parsed.get_driver_name() != "pymysql":
            raise StoreError(f"use the PyMySQL driver (mysql+pymysql://…), got {url!r}")
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args={"charset": "utf8mb4"},
            **kwargs,
        )
    raise StoreError(
        f"unsupported database URL {parsed.render_as_string()!r}: sqlite or mysql+pymysql"
    )

"""Run a private MariaDB server: own datadir, loopback, free port, ROW binlog.

For the tests, the benchmarks and (later) ``vpp playground``; the twin of
:mod:`vpp.adapters.nats.server`.  The machine's own MariaDB (a system service) is left
alone.  When the server binaries are
missing they are installed from Debian's packages (``apt-get install mariadb-server``),
which needs root, as CI has.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from vpp.domain.errors import VppError
from vpp.runtime import stop_process


class MariaDbUnavailable(VppError):
    """mariadbd could not be installed, initialised or started."""


def _free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host`` (adapters never import each other, so not nats' own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/usr/bin") if (p := Path(d) / name).exists()), None
    )


def ensure_installed() -> tuple[str, str]:
    """Paths of mariadbd and mariadb-install-db, installing Debian's packages if needed."""
    server, install = _binary("mariadbd"), _binary("mariadb-install-db")
    if server and install:
        return server, install
    if os.geteuid() != 0:
        raise MariaDbUnavailable("mariadbd is missing and we are not root to apt-get it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "mariadb-server"],
        check=True,
        env=env,
        capture_output=True,
    )
    server, install = _binary("mariadbd"), _binary("mariadb-install-db")
    if not (server and install):
        raise MariaDbUnavailable("apt-get install mariadb-server left no mariadbd")
    return server, install


@dataclass
class MariaDbServer:
    process: subprocess.Popen[bytes]
    port: int
    datadir: Path
    socket: Path
    args: list[str]
    log: Path

    host: str = "127.0.0.1"
    user: str = "root"

    def url(self, database: str) -> str:
        return f"mysql+pymysql://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, database=database, autocommit=True
        )

    def create_database(self, name: str) -> str:
        with self.connect() as con, con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as con, con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Hard stop, as a crash or a pulled plug would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def restart(self, ready_timeout: float = 60.0) -> None:
        """Start mariadbd again on the same datadir and port."""
        self.stop()
        self.process = _launch(self.args, self.log)
        _wait_ready(self, ready_timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after ``timeout``; always reaps the PID."""
        stop_process(self.process, grace_s=timeout)


def start_mariadb(base: Path, *, ready_timeout: float = 60.0) -> MariaDbServer:
    """Initialise a datadir under ``base`` and start mariadbd on a free loopback port."""
    server_bin, install_bin = ensure_installed()
    datadir, sock = base / "data", base / "mysqld.sock"
    base.mkdir(parents=True, exist_ok=True)
    user_args = ["--user=root"] if os.geteuid() == 0 else []
    init = subprocess.run(
        [
            install_bin,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user_args,
        ],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        raise MariaDbUnavailable(f"mariadb-install-db failed: {init.stderr[-2000:]}")
    port = _free_port()
    args = [
        server_bin,
        "--no-defaults",
        f"--datadir={datadir}",
        f"--socket={sock}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--pid-file={base / 'mysqld.pid'}",
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--binlog-row-metadata=FULL",
        "--server-id=1",
        "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2",
        "--skip-name-resolve",
        "--max-connections=500",
        *user_args,
    ]
    log = base / "mariadbd.log"
    server = MariaDbServer(_launch(args, log), port, datadir, sock, args, log)
    _wait_ready(server, ready_timeout)
    return server


def _launch(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )


def _wait_ready(server: MariaDbServer, ready_timeout: float) -> None:
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise MariaDbUnavailable(f"mariadbd exited with {server.process.returncode}: {tail}")
        try:
            server.connect().close()
            return
        except pymysql.err.OperationalError:
            time.sleep(0.2)
    server.stop()
    raise MariaDbUnavailable(f"mariadbd did not answer on 127.0.0.1:{server.port}")

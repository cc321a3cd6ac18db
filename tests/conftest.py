"""Real services for every test that needs them.

* ``nats_server`` — a private nats-server (JetStream) on a free loopback port, per session;
  ``nats_server_factory`` gives a test its own one to kill and restart.
* ``mariadb`` — a private MariaDB (own datadir, loopback, free port, ROW binlog), per
  session; ``mysql_url`` is a fresh database in it for one test.
* ``command_keys`` — a command-signing keyring in the test's directory, its trusted-keys
  file for the gateway and the dispatcher's signer (:mod:`tests.harness.signing`).
* ``db_url`` — parametrised over SQLite and MariaDB: a store contract test runs on both.

Neither backend is ever skipped: if MariaDB cannot be started the tests that need it fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.mariadb import MariaDbServer, private_mariadb
from tests.harness.signing import CommandKeys, make_command_keys
from vpp.adapters.nats.server import NatsServerProcess, start_nats_server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServerProcess]:
    server = start_nats_server(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServerProcess) -> str:
    return nats_server.url


@pytest.fixture
def nats_server_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., NatsServerProcess]]:
    """Start private nats-servers for one test (to kill, restart on the same port/store)."""
    started: list[NatsServerProcess] = []

    def start(*, port: int | None = None, store: str = "nats") -> NatsServerProcess:
        server = start_nats_server(tmp_path / store, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def command_keys(tmp_path: Path) -> CommandKeys:
    return make_command_keys(tmp_path / "command-signing")


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDbServer]:
    with private_mariadb(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


_db_counter = itertools.count()


@pytest.fixture
def mysql_url(mariadb: MariaDbServer) -> Iterator[str]:
    name = f"vpp_test_{next(_db_counter)}"
    yield mariadb.create_database(name)
    mariadb.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vpp.sqlite'}"


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on the embedded default and on a MySQL-protocol server."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("mysql_url"))

"""No database error leaves the store adapters: a store that is away is StoreUnavailable
(the API answers 503 with Retry-After), a refused unique key StoreConflict."""

from __future__ import annotations

import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from vpp.adapters.store import migrate
from vpp.adapters.store.api_keys import SqlApiKeyStore
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.application.ports import (
    AlreadyExists,
    ApiKeyRecord,
    StoreConflict,
    StoreError,
    StoreUnavailable,
)
from vpp.bootstrap import build_api, ensure_tenant_key
from vpp.domain import Tenant


def _closed_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_a_mysql_server_that_is_not_there_is_store_unavailable() -> None:
    engine = make_engine(f"mysql+pymysql://root@127.0.0.1:{_closed_loopback_port()}/vpp")
    try:
        with pytest.raises(StoreUnavailable) as err:
            SqlRegistryStore(engine).plant("plant-a")
        assert isinstance(err.value.__cause__, OperationalError)  # the driver's, chained
        with pytest.raises(StoreUnavailable):
            SqlApiKeyStore(engine).add_tenant(Tenant("t1"), None)
    finally:
        engine.dispose()


def test_an_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "vpp.sqlite").mkdir()  # a directory where the database file should be
    engine = make_engine(f"sqlite:///{tmp_path / 'vpp.sqlite'}")
    try:
        with pytest.raises(StoreUnavailable):
            SqlRegistryStore(engine).ders()
    finally:
        engine.dispose()


def test_a_refused_unique_key_is_a_conflict_never_a_driver_error(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    keys = SqlApiKeyStore(engine)
    try:
        keys.add_tenant(Tenant("t1"), None)
        with pytest.raises(AlreadyExists):
            keys.add_tenant(Tenant("t1"), None)
        key = ApiKeyRecord("k1", "t1", "0" * 64, frozenset({"read"}), datetime.now(UTC))
        keys.add_api_key(key)
        with pytest.raises(StoreConflict) as err:
            keys.add_api_key(key)
        assert isinstance(err.value.__cause__, IntegrityError)
        assert isinstance(err.value, StoreError) and not isinstance(err.value, AlreadyExists)
    finally:
        engine.dispose()


def test_the_api_answers_503_with_a_problem_when_the_store_goes_away(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vpp.sqlite'}"
    app = build_api(url)
    key = ensure_tenant_key(url, "t-a", upgrade=False)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/plants", headers=auth).status_code == 200
        app.state.engine.dispose()  # drop pooled connections to the file ...
        (tmp_path / "vpp.sqlite").unlink()
        for side in ("-wal", "-shm"):
            (tmp_path / f"vpp.sqlite{side}").unlink(missing_ok=True)
        (tmp_path / "vpp.sqlite").mkdir()  # ... and take the file away for good
        r = client.get("/v1/plants", headers=auth)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "urn:vpp:problem:store-unavailable"
    app.state.engine.dispose()
    shutil.rmtree(tmp_path / "vpp.sqlite")

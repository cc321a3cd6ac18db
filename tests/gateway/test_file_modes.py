"""Owner-only local state (issue 11): a real gateway's data dir is 0700 and its telemetry
buffer and command ledger — SQLite files with their ``-wal`` and ``-shm`` — are 0600,
even under a umask that would leave them open to everyone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.gateway import make_config, running
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys
from tests.harness.wait import async_wait_until
from vpp.adapters.store.engine import make_engine
from vpp.bootstrap import build_gateway
from vpp.domain import DerKind

STATE_FILES = ("telemetry-buffer.sqlite", "commands.sqlite")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that restricts nothing: what is owner-only below is made so by vpp."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(directory: Path) -> dict[str, int]:
    return {p.name: _mode(p) for p in directory.iterdir()}


async def test_a_running_gateway_keeps_its_state_owner_only(
    fleet_factory, nats_url: str, tmp_path: Path, open_umask: None, command_keys: CommandKeys
) -> None:
    fleet = await fleet_factory({DerKind.BATTERY: 1, DerKind.PV: 1})
    data_dir = tmp_path / "gw-data"
    data_dir.mkdir(mode=0o777)  # an existing, open directory is restricted as well
    cfg = make_config(command_keys, fleet.endpoints, nats_url, data_dir, gateway_id="gw-modes")
    async with running(build_gateway(cfg)) as gw:
        assert await gw.uplink.wait_connected(10)
        await async_wait_until(  # it polled, buffered and published a few times
            lambda: all(
                sample(gw.metrics.registry, "vpp_gateway_readings_total", der_id=d) >= 2
                for d in fleet.devices
            ),
            15,
        )
        modes = _modes(data_dir)  # while it runs: the WAL and shared-memory files exist
    for name in STATE_FILES:
        assert {name, f"{name}-wal", f"{name}-shm"} <= set(modes), modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}
    assert _mode(data_dir) == 0o700
    assert all(mode == 0o600 for mode in _modes(data_dir).values())  # and after it stopped


def test_the_embedded_store_file_is_owner_only(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "store" / "vpp.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as con:
            con.exec_driver_sql("create table t (x integer)")
            con.exec_driver_sql("insert into t values (1)")
            modes = _modes(db.parent)
    finally:
        engine.dispose()
    assert {"vpp.sqlite", "vpp.sqlite-wal", "vpp.sqlite-shm"} <= set(modes), modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}
    assert _mode(db.parent) == 0o700

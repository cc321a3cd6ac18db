"""The ``vpp`` command as a user runs it: help, database migration on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SUBCOMMANDS = (
    "playground", "gateway", "sim", "api", "dispatch", "db", "projector", "dispatcher", "keys"
)  # fmt: skip


def vpp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vpp", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_help_lists_every_subcommand() -> None:
    out = vpp("--help")
    assert out.returncode == 0, out.stderr
    for name in SUBCOMMANDS:
        assert name in out.stdout


def test_db_upgrade_creates_and_reports_the_schema(db_url: str) -> None:
    first = vpp("db", "upgrade", "--url", db_url)
    assert first.returncode == 0, first.stderr
    assert "at revision" in first.stdout
    again = vpp("db", "upgrade", "--url", db_url)  # idempotent
    assert again.returncode == 0 and again.stdout.split()[-1] == first.stdout.split()[-1]
    current = vpp("db", "current", "--url", db_url)
    assert current.stdout.strip() == first.stdout.split()[-1]


def test_db_upgrade_default_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    import os

    out = vpp("db", "upgrade", env={**os.environ, "VPP_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "vpp.sqlite").exists()


@pytest.mark.parametrize("url", ["postgresql://x/y", "mysql://root@127.0.0.1/x", "nonsense"])
def test_db_upgrade_refuses_unsupported_urls_clearly(url: str) -> None:
    out = vpp("db", "upgrade", "--url", url)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "sqlite" in (out.stderr + out.stdout)

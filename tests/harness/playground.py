"""``vpp playground`` as a user starts it (a subprocess), for end-to-end tests: waits for
its info file, stops it with SIGINT (what Ctrl-C does) and checks it stopped cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.harness.wait import wait_until
from vpp.adapters.tls import client_context


def wait_until_up(proc: subprocess.Popen[bytes], info_file: Path, log: Path) -> None:
    """Until the playground wrote its info file; it must not exit meanwhile."""

    def up() -> bool:
        assert proc.poll() is None, log.read_text()[-3000:]
        return info_file.exists()

    wait_until(up, 180, 0.5, what="playground did not come up")


@contextlib.contextmanager
def running_playground(tmp_path: Path, *args: str) -> Iterator[dict[str, Any]]:
    """A playground with its run directory in ``tmp_path / "run"``; yields info.json."""
    info_file = tmp_path / "info.json"
    log_path = tmp_path / "playground.log"
    argv = [sys.executable, "-m", "vpp", "playground", "--api-port", "0"]
    argv += ["--data-dir", str(tmp_path / "run"), "--info-file", str(info_file), *args]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_until_up(proc, info_file, log_path)
            yield json.loads(info_file.read_text())
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(10)
    out = log_path.read_text()
    assert code == 0, out[-3000:]
    assert "stopped:" in out


def api_client(info: dict[str, Any]) -> httpx.Client:
    """The playground's API over https, trusting its private CA, with its key."""
    ca_file = info.get("ca_file")
    return httpx.Client(
        base_url=info["api_url"],
        headers={"Authorization": f"Bearer {info['api_key']}"},
        timeout=10,
        verify=client_context(ca_file) if ca_file else True,
    )

"""Child processes of ``vpp playground``: started with their own log file, watched, and
stopped by PID (:func:`vpp.runtime.stop_process`) in reverse order of start; waiting for
one to come up fails as soon as any of them dies."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vpp.domain.errors import VppError
from vpp.runtime import stop_process


class PlaygroundError(VppError):
    """A part of the playground did not come up; the message says which and why."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    role: str = ""  # gateway, projector, …: what scripts look for in info.json
    ops_url: str | None = None  # its /metrics, /healthz, /readyz, when it serves them
    args: list[str] = field(default_factory=list)  # ``vpp <args>``, to start it again
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Supervisor:
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], env: dict[str, str] | None = None, *, role: str = ""
    ) -> Child:
        """Run ``vpp <args>`` with this interpreter; output goes to ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        proc = _spawn(args, env or {}, log, "wb")
        child = Child(name, proc, log, role or name, args=args, env=env or {})
        self.children.append(child)
        return child

    def restart(self, child: Child) -> None:
        """Start a dead ``child`` again with the same arguments (its log continues), as
        ``Restart=on-failure`` would."""
        stop_process(child.process, 5)  # reaped
        child.process = _spawn(child.args, child.env, child.log, "ab")
        child.restarts += 1

    def dead(self) -> list[Child]:
        return [c for c in self.children if c.process.poll() is not None]

    def stop_all(self, timeout: float = 15.0) -> dict[str, int | None]:
        """Stop every child, the last started first; return each one's exit code."""
        return {
            child.name: stop_process(child.process, timeout) for child in reversed(self.children)
        }


def _spawn(args: list[str], env: dict[str, str], log: Path, mode: str) -> subprocess.Popen[bytes]:
    with log.open(mode) as out:
        return subprocess.Popen(
            [sys.executable, "-m", "vpp", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # readable logs under the run directory unless the caller asks for JSON
            env={"VPP_LOG_FORMAT": "text", **os.environ, "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True,  # Ctrl-C reaches the playground, which stops them
        )


def wait_for(what: str, ok: Callable[[], bool], sup: Supervisor, timeout: float) -> None:
    """Poll ``ok`` until it is true; fail when a child dies or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not ok():
        dead = sup.dead()
        if dead:
            raise PlaygroundError(
                f"{dead[0].name} exited while waiting for {what}:\n{dead[0].tail()}"
            )
        if time.monotonic() > deadline:
            raise PlaygroundError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def port_free(port: int) -> bool:
    """Whether ``port`` can be bound on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def http_ok(url: str, ca_file: Path | None = None) -> bool:
    """Whether a GET of ``url`` answers 200 within a second (https: trusting ``ca_file``)."""
    ctx = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(url, timeout=1, context=ctx) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False

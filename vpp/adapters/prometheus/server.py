"""Run a private Prometheus: own storage under a run directory, loopback, free port.

For the tests and ``vpp playground --prometheus``; the twin of
:mod:`vpp.adapters.nats.server` and :mod:`vpp.adapters.store.mariadb_server`.  It scrapes
the given targets every second and loads the alert rules of ``deploy/prometheus/`` (one
source: the file an operator copies to production).  When the binary is missing it is
installed from Debian's packages (``apt-get install prometheus``), which needs root, as CI
has; Debian's package starts nothing by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vpp.domain.errors import VppError
from vpp.runtime import stop_process

#: a scrape target: (job, instance, "host:port" of its /metrics)
Target = tuple[str, str, str]

#: the scrape job of each vpp role: deploy/prometheus/prometheus.yml's job names, which its
#: alert rules and the Grafana dashboards select on
JOBS = {
    "gateway": "vpp-gateway",
    "projector": "vpp-projector",
    "dispatcher": "vpp-dispatcher",
    "api": "vpp-api",
}

#: the alert rules an operator deploys, next to the package in a source checkout
DEPLOY_RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "alerts.yml"


class PrometheusUnavailable(VppError):
    """prometheus could not be installed or started, or did not become ready."""


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/bin", "/usr/sbin") if (p := Path(d) / name).exists()), None
    )


def ensure_installed() -> tuple[str, str]:
    """Paths of ``prometheus`` and ``promtool``, installing Debian's package if needed."""
    server, tool = _binary("prometheus"), _binary("promtool")
    if server and tool:
        return server, tool
    if os.geteuid() != 0:
        raise PrometheusUnavailable("prometheus is missing and we are not root to apt-get it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # the package lists may be missing or stale on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(install, check=True, env=env, capture_output=True)
    server, tool = _binary("prometheus"), _binary("promtool")
    if not (server and tool):
        raise PrometheusUnavailable("apt-get install prometheus left no prometheus/promtool")
    return server, tool


def _free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host`` (adapters never import each other, so not nats' own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def scrape_config(
    targets: Sequence[Target], rules: Path | None, interval_s: float = 1.0
) -> dict[str, object]:
    """The configuration document: one scrape job per job name, each target labelled with
    its ``instance`` name (as the production config does), the rule file if any."""
    jobs: dict[str, list[dict[str, object]]] = {}
    for job, instance, address in targets:
        jobs.setdefault(job, []).append({"targets": [address], "labels": {"instance": instance}})
    interval = f"{int(interval_s * 1000)}ms"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)] if rules is not None else [],
        "scrape_configs": [
            {"job_name": job, "static_configs": statics} for job, statics in jobs.items()
        ],
    }


@dataclass
class PrometheusProcess:
    process: subprocess.Popen[bytes]
    port: int
    config_file: Path
    log_file: Path
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL; always reaps the PID; the exit code."""
        return stop_process(self.process, timeout)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_prometheus(
    run_dir: Path,
    targets: Sequence[Target],
    port: int | None = None,
    *,
    rules: Path | None = DEPLOY_RULES,
    interval_s: float = 1.0,
    ready_timeout: float = 30.0,
) -> PrometheusProcess:
    """Write ``run_dir/prometheus.yml`` for ``targets`` and start Prometheus on
    ``127.0.0.1:port`` (None: a free one) with its storage in ``run_dir/data``; return once
    ``/-/ready`` answers 200.  ``rules`` defaults to deploy's alert rules when the source
    checkout has them.  The first scrape results appear a few seconds after that."""
    server_bin, _ = ensure_installed()
    run_dir.mkdir(parents=True, exist_ok=True)
    if rules is not None and not rules.exists():
        rules = None  # an installed wheel carries no deploy/ folder
    config_file = run_dir / "prometheus.yml"
    config_file.write_text(json.dumps(scrape_config(targets, rules, interval_s), indent=2))
    port = port or _free_port()
    log_file = run_dir / "prometheus.log"
    args = [
        server_bin,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={run_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",  # POST /-/reload after a change of targets
    ]
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    prom = PrometheusProcess(proc, port, config_file, log_file)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text(errors="replace")[-2000:]
            raise PrometheusUnavailable(f"prometheus exited with {proc.returncode}: {tail}")
        if _ready(prom.url):
            return prom
        time.sleep(0.1)
    prom.stop()
    raise PrometheusUnavailable(f"prometheus was not ready on 127.0.0.1:{port}")

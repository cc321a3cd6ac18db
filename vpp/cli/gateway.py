"""``vpp gateway --config gateway.yaml`` and ``vpp gateway config-from endpoints.json``."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from vpp.cli.log_options import LogFormatOption, setup_logs

if TYPE_CHECKING:
    from vpp.config.gateway import GatewayConfig

app = typer.Typer(
    invoke_without_command=True,
    help="Field gateway: poll devices, publish telemetry, apply commands safely.",
)


@app.command("config-from")
def config_from(
    endpoints: Annotated[Path, typer.Argument(help="endpoints JSON of `vpp sim serve`")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    gateway_id: Annotated[str, typer.Option("--gateway-id")] = "gw1",
    nats_url: Annotated[str | None, typer.Option("--nats-url")] = None,
    nats_client: Annotated[
        Path | None,
        typer.Option("--nats-client", help="Client file of `vpp nats` for the nats: section"),
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            help="the gateway's own state (telemetry buffer, command ledger); written as an "
            "absolute path, so the gateway's state does not follow its working directory",
        ),
    ] = Path("gateway-data"),
    poll_s: Annotated[float, typer.Option("--poll-s")] = 1.0,
    command_keys: Annotated[
        Path | None,
        typer.Option("--command-keys", help="trusted command keys (`vpp keys export`)"),
    ] = None,
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned-commands", help="apply unsigned commands (unsafe)")
    ] = False,
) -> None:
    """Write a gateway.yaml for the devices of a simulator endpoint list."""
    from vpp.bootstrap.gateway_config import gateway_config_from_endpoints
    from vpp.config.gateway import GatewayConfig

    data = json.loads(endpoints.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("endpoints", data.get("devices", []))
    doc = gateway_config_from_endpoints(
        data,
        gateway_id=gateway_id,
        data_dir=str(data_dir.absolute()),
        poll_s=poll_s,
        command_keys_file=str(command_keys.resolve()) if command_keys else None,
        allow_unsigned_commands=allow_unsigned,
    )
    if nats_client is not None:
        doc["nats"] = yaml.safe_load(nats_client.read_text(encoding="utf-8"))
    if nats_url is not None:
        doc["nats"] = {**doc["nats"], "url": nats_url}
    try:  # refuse to write a file the gateway would refuse
        GatewayConfig.model_validate(doc)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    text = yaml.safe_dump(doc, sort_keys=False)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(doc['devices'])} devices)", err=True)


def _load(config: Path) -> GatewayConfig:
    from vpp.config import ConfigError, load_yaml
    from vpp.config.gateway import GatewayConfig

    try:
        return load_yaml(config, GatewayConfig)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command("reset-ledger")
def reset_ledger(
    config: Annotated[Path, typer.Option("--config", "-c", help="gateway.yaml")],
    der: Annotated[str, typer.Option("--der", help="the DER whose last sequence to clear")],
) -> None:
    """Clear a DER's last applied sequence (after a forged sequence locked it out)."""
    from vpp.bootstrap.gateway import GatewayBuildError
    from vpp.bootstrap.gateway import reset_ledger as reset

    cfg = _load(config)
    try:
        removed = reset(cfg, der)
    except GatewayBuildError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if removed is None:
        typer.echo(f"{der}: no last applied sequence in the ledger; nothing removed")
    else:
        typer.echo(f"{der}: removed last applied sequence {removed[0]} (command {removed[1]})")


def _with_metrics(cfg: GatewayConfig, host: str | None, port: int | None) -> GatewayConfig:
    """``cfg`` with its ``metrics:`` section overridden by ``--metrics-host/-port``."""
    update = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if not update:
        return cfg
    return cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update=update)})


async def _serve(config: GatewayConfig) -> None:
    from vpp.bootstrap import build_gateway

    built = build_gateway(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, built.stop)
    await built.run()


@app.callback()
def gateway(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="gateway.yaml")] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "INFO",
    log_format: LogFormatOption = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="name in logs (default: the gateway id)")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="serve /metrics, /healthz, /readyz here (overrides metrics.port)",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option("--metrics-host", help="(overrides metrics.host)")
    ] = None,
) -> None:
    """Run the field gateway until SIGINT/SIGTERM (devices are released on the way out)."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from vpp.bootstrap.gateway import GatewayBuildError

    cfg = _load(config)
    setup_logs(log_format, instance or cfg.gateway_id, log_level)
    cfg = _with_metrics(cfg, metrics_host, metrics_port)
    try:
        asyncio.run(_serve(cfg))
    except GatewayBuildError as exc:
        typer.echo(f"gateway not started: {exc}", err=True)
        raise typer.Exit(2) from exc

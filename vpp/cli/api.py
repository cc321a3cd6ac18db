"""``vpp api``: serve the operator HTTP API with uvicorn (plain HTTP, or HTTPS with
``--tls-cert``/``--tls-key``, client certificates required with ``--tls-client-ca``)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vpp.cli.log_options import LogFormatOption, setup_logs

if TYPE_CHECKING:
    from vpp.adapters.api.settings import ApiSettings

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="VPP_DB_URL",
        help="Store URL: sqlite:///PATH or mysql+pymysql://user:pw@host:port/db "
        "(default: the SQLite file under $VPP_DATA_DIR).",
    ),
]
IssueKeyOption = Annotated[
    str | None,
    typer.Option(
        "--issue-key",
        metavar="TENANT",
        help="Create TENANT if needed, print a new API key with all scopes, and exit.",
    ),
]
PlatformKeyOption = Annotated[
    bool,
    typer.Option(
        "--issue-platform-key",
        help="Print a new platform key (scope platform: creates tenants) and exit.",
    ),
]


def _file(name: str, help_: str) -> Any:
    return typer.Option(name, exists=True, dir_okay=False, help=help_)


def _rate(name: str, group: str) -> Any:
    return typer.Option(name, min=0.001, help=f"{group} requests per second per key")


def _burst(name: str, group: str) -> Any:
    return typer.Option(name, min=1, help=f"{group} requests at once per key")


CertOption = Annotated[Path | None, _file("--tls-cert", "Serve HTTPS: certificate (PEM chain)")]
KeyOption = Annotated[Path | None, _file("--tls-key", "Private key of --tls-cert (PEM)")]
ClientCaOption = Annotated[
    Path | None, _file("--tls-client-ca", "Require client certificates signed by this CA")
]


def api(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    issue_key: IssueKeyOption = None,
    issue_platform_key: PlatformKeyOption = False,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve /metrics, /healthz, /readyz on this port"),
    ] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host")] = "127.0.0.1",
    instance: Annotated[str, typer.Option("--instance", help="name in logs")] = "api",
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    log_format: LogFormatOption = None,
    tls_cert: CertOption = None,
    tls_key: KeyOption = None,
    tls_client_ca: ClientCaOption = None,
    dispatch_rate: Annotated[float | None, _rate("--dispatch-rate", "dispatch")] = None,
    dispatch_burst: Annotated[int | None, _burst("--dispatch-burst", "dispatch")] = None,
    admin_rate: Annotated[float | None, _rate("--admin-rate", "admin")] = None,
    admin_burst: Annotated[int | None, _burst("--admin-burst", "admin")] = None,
) -> None:
    """Serve the operator HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    from vpp.bootstrap import build_api

    if issue_key is not None or issue_platform_key:
        _issue(db, issue_key)
        return
    if (tls_cert is None) != (tls_key is None) or (tls_client_ca and not tls_cert):
        raise typer.BadParameter("--tls-cert and --tls-key go together (--tls-client-ca with them)")
    setup_logs(log_format, instance, log_level.upper())
    settings = _settings(dispatch_rate, dispatch_burst, admin_rate, admin_burst)
    app = build_api(db, settings=settings)
    if metrics_port is not None:
        from vpp.adapters.prometheus.http import serve_ops

        registry, ready = app.state.metrics_registry, app.state.store_probe.reason
        serve_ops(metrics_host, metrics_port, registry, ready)
    tls = _uvicorn_tls(tls_cert, tls_key, tls_client_ca)
    try:
        _serve(app, host=host, port=port, log_level=log_level, **tls)
    finally:
        app.state.engine.dispose()


def _issue(db: str | None, tenant: str | None) -> None:
    from vpp.bootstrap import ensure_tenant_key, issue_platform_key

    try:
        typer.echo(ensure_tenant_key(db, tenant) if tenant else issue_platform_key(db))
    except ValueError as exc:
        typer.echo(f"vpp api: {exc}", err=True)
        raise typer.Exit(2) from exc


def _settings(
    dispatch_rate: float | None,
    dispatch_burst: int | None,
    admin_rate: float | None,
    admin_burst: int | None,
) -> ApiSettings:
    from vpp.adapters.api.settings import ApiSettings
    from vpp.application.rate_limits import RateLimit

    d, a = ApiSettings().dispatch, ApiSettings().admin
    return ApiSettings(
        dispatch=RateLimit(dispatch_rate or d.rate_per_s, dispatch_burst or d.burst),
        admin=RateLimit(admin_rate or a.rate_per_s, admin_burst or a.burst),
    )


def _uvicorn_tls(cert: Path | None, key: Path | None, client_ca: Path | None) -> dict[str, Any]:
    """uvicorn's ``ssl_*`` options: none for plain HTTP; with ``client_ca`` a client must
    present a certificate signed by it (``CERT_REQUIRED``)."""
    if cert is None or key is None:
        return {}
    import ssl

    options: dict[str, Any] = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    if client_ca is not None:
        options |= {"ssl_ca_certs": str(client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _serve(app: Any, **options: Any) -> None:
    import uvicorn

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal into the
    # handler that was installed before it: ours, so a requested stop exits with status 0.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # log_config=None: uvicorn's records go to the root logger (--log-format)
        uvicorn.run(app, access_log=False, log_config=None, **options)
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Stopped(Exception):
    """SIGINT or SIGTERM after (or before) uvicorn's graceful shutdown."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signum)

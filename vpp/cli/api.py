"""``vpp api``: serve the operator HTTP API with uvicorn."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer


def api(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="VPP_DB_URL",
            help="Store URL: sqlite:///PATH or mysql+pymysql://user:pw@host:port/db "
            "(default: the SQLite file under $VPP_DATA_DIR).",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    issue_key: Annotated[
        str | None,
        typer.Option(
            "--issue-key",
            metavar="TENANT",
            help="Create TENANT if needed, print a new API key with all scopes, and exit.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve Prometheus /metrics on this port (same host)"),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the operator HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    from vpp.bootstrap import build_api, ensure_tenant_key

    if issue_key is not None:
        try:
            typer.echo(ensure_tenant_key(db, issue_key))
        except ValueError as exc:
            typer.echo(f"vpp api: {exc}", err=True)
            raise typer.Exit(2) from exc
        return

    import uvicorn

    app = build_api(db)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=host, registry=app.state.metrics_registry)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal into the
    # handler that was installed before it: ours, so a requested stop exits with status 0.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.state.engine.dispose()


class _Stopped(Exception):
    """SIGINT or SIGTERM after (or before) uvicorn's graceful shutdown."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signum)

"""The ``vpp`` command.  One module per subcommand group; each builds through bootstrap."""

from __future__ import annotations

import typer

from vpp.cli import (
    api,
    db,
    dispatch,
    dispatcher,
    flexibility,
    gateway,
    keys,
    nats,
    playground,
    projector,
    sim,
    tls,
)

app = typer.Typer(
    name="vpp",
    help="Virtual power plant aggregation: simulators, gateway, store, optimizer, API.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(sim.app, name="sim", help="Simulated DERs over IEC 61850 MMS and SunSpec Modbus.")
app.add_typer(gateway.app, name="gateway", help="Field gateway: poll devices, apply commands.")
app.add_typer(nats.app, name="nats", help="NATS identities, permissions, server config.")
app.add_typer(keys.app, name="keys", help="Command-signing keys: create, rotate, export.")
app.add_typer(db.app, name="db", help="Read-model store: create and migrate databases.")
app.add_typer(tls.app, name="tls", help="A private CA and its certificates (TLS).")
app.command("api", help="Serve the operator HTTP API.")(api.api)
app.command("dispatch", help="Send a dispatch request and follow it live.")(dispatch.dispatch)
app.command("flexibility", help="Show a plant's holdable flexibility per interval.")(
    flexibility.flexibility
)
app.command("projector", help="Project the streams into the read models.")(projector.projector)
app.command("dispatcher", help="Follow dispatches with setpoints (closed loop).")(
    dispatcher.dispatcher
)
app.command("playground", help="Run the whole stack on this machine.")(playground.playground)


def main() -> None:
    app()

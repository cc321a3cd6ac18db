"""``--log-format`` of every long-running command (see :mod:`vpp.runtime.logs`)."""

from __future__ import annotations

from typing import Annotated

import typer

from vpp.runtime.logs import ENV, configure_logging

LogFormatOption = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        envvar=ENV,
        metavar="json|text|auto",
        help="json: one JSON object per line (ts, level, logger, message, instance, "
        "dispatch_id, command_id, der_id, gateway_id); text: for people; "
        "auto (default): text on a terminal, JSON otherwise",
    ),
]


def setup_logs(fmt: str | None, instance: str, level: str = "INFO") -> None:
    """Configure the process's logging, or exit 2 with the reason (an unknown format)."""
    try:
        configure_logging(fmt, instance=instance, level=level)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-format") from exc

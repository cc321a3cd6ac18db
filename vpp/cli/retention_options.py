"""``--retain-raw``, ``--retain-1m``, ``--retain-15m``, ``--retention-every`` of the
process that owns the roll-ups (``vpp projector``); see :mod:`vpp.application.retention`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from vpp.application.retention import RetentionSettings


def _span(name: str, what: str) -> Any:
    return typer.Option(name, metavar="SPAN", help=f"keep {what} this long (36h, 2d, 1w)")


RetainRaw = Annotated[str, _span("--retain-raw", "raw readings")]
Retain1m = Annotated[str, _span("--retain-1m", "1-minute roll-ups")]
Retain15m = Annotated[str, _span("--retain-15m", "15-minute roll-ups")]
RetentionEvery = Annotated[
    str, typer.Option("--retention-every", metavar="SPAN", help="run retention this often")
]


def retention_settings(raw: str, minute: str, quarter: str, every: str) -> RetentionSettings:
    """The settings of the options, or exit 2 with the reason."""
    from vpp.application.retention import RetentionSettings, parse_span
    from vpp.domain.errors import InvalidValue

    try:
        return RetentionSettings(
            raw=parse_span(raw),
            minute=parse_span(minute),
            quarter=parse_span(quarter),
            every_s=parse_span(every).total_seconds(),
        )
    except InvalidValue as exc:
        raise typer.BadParameter(str(exc)) from exc

"""``vpp flexibility``: a plant's holdable flexibility per interval, as a table.

Reads ``GET /v1/plants/{plant}/flexibility`` (API URL, key and CA as for ``vpp dispatch``)
and prints, per interval, the baseline and the up/down power the plant can hold for the
whole interval (kW), the resulting range and the energy of each offer (kWh).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from vpp.cli.dispatch import ApiProblem, CaFileOption, InfoFileOption, _checked, resolve_target

COLUMNS = (
    ("start", "{}", 20),
    ("baseline kW", "{:.2f}", 12),
    ("up kW", "{:.2f}", 10),
    ("down kW", "{:.2f}", 10),
    ("min kW", "{:.2f}", 10),
    ("max kW", "{:.2f}", 10),
    ("up kWh", "{:.3f}", 10),
    ("down kWh", "{:.3f}", 10),
)
FIELDS = ("start", "baseline_kw", "up_kw", "down_kw", "p_min_kw", "p_max_kw", "up_kwh", "down_kwh")


def fetch_flexibility(
    client: httpx.Client,
    plant_id: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """The API's answer; datetimes are sent as RFC 3339, strings as they are."""
    params = {
        k: v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for k, v in (("start", start), ("end", end), ("step", step))
        if v is not None
    }
    return _checked(client.get(f"/v1/plants/{plant_id}/flexibility", params=params))


def _cell(field: str, fmt: str, value: Any) -> str:
    if field == "start":
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    return str(fmt.format(value))


def table_lines(body: dict[str, Any]) -> list[str]:
    """The flexibility answer as aligned text lines: a title, a header, one row each."""
    lines = [
        f"flexibility of {body['plant_id']} per {body['step']} (state as of {body['as_of']})",
        "  ".join(name.rjust(width) for name, _, width in COLUMNS),
    ]
    for iv in body["intervals"]:
        lines.append(
            "  ".join(
                _cell(field, fmt, iv[field]).rjust(width)
                for field, (_, fmt, width) in zip(FIELDS, COLUMNS, strict=True)
            )
        )
    for label, key in (("unavailable", "members_unavailable"), ("held", "members_held")):
        if body[key]:
            lines.append(f"{label}: {', '.join(body[key])}")
    return lines


def flexibility(
    plant: Annotated[str, typer.Option("--plant", help="Plant id")],
    start: Annotated[
        str | None, typer.Option("--start", help="RFC 3339; default the current interval")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="RFC 3339; default start + 4 h")] = None,
    step: Annotated[str | None, typer.Option("--step", help="ISO 8601, default PT15M")] = None,
    api: Annotated[str | None, typer.Option("--api", envvar="VPP_API_URL")] = None,
    key: Annotated[str | None, typer.Option("--key", envvar="VPP_API_KEY")] = None,
    info_file: InfoFileOption = None,
    ca_file: CaFileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """Show what the plant can hold per interval (what a trader bids)."""
    target = resolve_target(api, key, info_file, ca_file)
    headers = {"Authorization": f"Bearer {target.key}"}
    try:
        with httpx.Client(
            base_url=target.url, headers=headers, timeout=30.0, verify=target.verify()
        ) as client:
            body = fetch_flexibility(client, plant, start=start, end=end, step=step)
    except (ApiProblem, httpx.HTTPError) as exc:
        typer.echo(f"vpp flexibility: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    for line in table_lines(body):
        typer.echo(line)

"""``vpp dispatch``: send a dispatch request to the API and follow it live.

The API URL and key come from ``--api``/``--key``, else ``VPP_API_URL``/``VPP_API_KEY``,
else the playground's info file (``--info-file``, JSON with ``api_url`` and ``api_key``).
For an ``https://`` API with a private CA, the CA certificate comes from ``--ca-file``,
else ``VPP_API_CA_FILE``, else the info file's ``ca_file`` (relative to the info file).
The table shows, per poll, the status and the current interval's target against what
the plant measures; it ends when the dispatch is final (exit 0 only when completed).
"""

from __future__ import annotations

import json
import ssl
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from vpp.domain.errors import VppError

FINAL = {"completed", "failed", "cancelled"}


class ApiProblem(VppError):
    """The API answered with a problem document (or something else that is not 2xx)."""


@dataclass(frozen=True, slots=True)
class ApiTarget:
    url: str
    key: str
    ca_file: Path | None = None  # the CA to trust for https (else the system's)

    def verify(self) -> ssl.SSLContext | bool:
        """httpx's ``verify``: a context trusting ``ca_file`` alone, or the system's CAs."""
        if self.ca_file is None:
            return True
        from vpp.adapters.tls import TlsError, client_context

        try:
            return client_context(self.ca_file)
        except TlsError as exc:
            raise typer.BadParameter(str(exc)) from exc


def resolve_target(
    api: str | None, key: str | None, info_file: Path | None, ca_file: Path | None = None
) -> ApiTarget:
    """Options, then (through typer) the environment, then the playground's info file."""
    if (api is None or key is None or ca_file is None) and info_file is not None:
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"cannot read {info_file}: {exc}") from exc
        api = api or info.get("api_url")
        key = key or info.get("api_key")
        if ca_file is None and info.get("ca_file"):
            ca_file = info_file.parent / info["ca_file"]  # an absolute path stays as it is
    if not api or not key:
        raise typer.BadParameter(
            "no API URL/key: pass --api and --key, set VPP_API_URL and VPP_API_KEY, "
            "or --info-file of a running vpp playground"
        )
    return ApiTarget(api.rstrip("/"), key, ca_file)


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        problem = response.json()
        text = f"{problem.get('title', response.status_code)}: {problem.get('detail', '')}"
    except ValueError:
        text = response.text[:300]
    raise ApiProblem(f"HTTP {response.status_code} {text}")


def send_dispatch(
    client: httpx.Client,
    *,
    plant_id: str,
    p_kw: float,
    duration: str,
    start: datetime,
    mode: str = "absolute",
    on_shortfall: str = "accept",
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    body = {
        "mode": mode,
        "on_shortfall": on_shortfall,
        "intervals": [
            {"start": start.isoformat().replace("+00:00", "Z"), "duration": duration, "p_kw": p_kw}
        ],
    }
    headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
    return _checked(client.post(f"/v1/plants/{plant_id}/dispatches", json=body, headers=headers))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One poll: the dispatch's status, its current interval and the plant now."""

    at: datetime
    status: str
    target_kw: float | None
    planned_kw: float | None
    measured_kw: float | None
    delivered_kwh: float | None
    target_kwh: float | None
    commands: int
    acks: int


def snapshot(dispatch: dict[str, Any], plant: dict[str, Any] | None, at: datetime) -> Snapshot:
    intervals = dispatch["intervals"]
    current = intervals[0]
    for iv in intervals:
        if datetime.fromisoformat(iv["start"]) <= at:
            current = iv
    measured = current["p_kw_measured_last"]
    if measured is None and plant is not None:
        measured = plant["envelope"]["p_now_kw"]
    target = current["p_kw_target"]
    return Snapshot(
        at=at,
        status=dispatch["status"],
        target_kw=target if target is not None else current["p_kw_requested"],
        planned_kw=current["p_kw_planned"],
        measured_kw=measured,
        delivered_kwh=current["energy_kwh_delivered"],
        target_kwh=current["energy_kwh_target"],
        commands=dispatch["commands"]["sent"],
        acks=sum(dispatch["commands"]["acks"].values()),
    )


def follow(
    client: httpx.Client,
    dispatch_id: str,
    plant_id: str,
    *,
    on_snapshot: Callable[[Snapshot], None],
    poll_s: float = 2.0,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Poll the dispatch (and its plant) until it is final; return its last state."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        dispatch = _checked(client.get(f"/v1/dispatches/{dispatch_id}"))
        plant_response = client.get(f"/v1/plants/{plant_id}")
        plant = plant_response.json() if plant_response.is_success else None
        on_snapshot(snapshot(dispatch, plant, datetime.now(UTC)))
        if dispatch["status"] in FINAL:
            return dispatch
        if deadline is not None and time.monotonic() > deadline:
            raise ApiProblem(f"still {dispatch['status']} after {timeout_s:g} s; stopped following")
        time.sleep(poll_s)


# live table --------------------------------------------------------------------------------------

COLUMNS = ("time", "status", "target kW", "planned kW", "measured kW", "kWh done/target", "cmds")
KEEP = 20


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def cells(s: Snapshot) -> tuple[str, ...]:
    return (
        s.at.strftime("%H:%M:%S"),
        s.status,
        _num(s.target_kw),
        _num(s.planned_kw),
        _num(s.measured_kw),
        f"{_num(s.delivered_kwh, '{:.3f}')}/{_num(s.target_kwh, '{:.3f}')}",
        f"{s.commands}/{s.acks}",
    )


class LiveTable:
    """Context manager; ``add(snapshot)`` appends a row (the last ``KEEP`` stay visible)."""

    def __init__(self, title: str, *, force_plain: bool = False) -> None:
        self.title = title
        self.rows: list[tuple[str, ...]] = []
        self.plain = force_plain or not sys.stdout.isatty()
        self._live: Live | None = None

    def _table(self) -> Table:
        table = Table(title=self.title)
        for col in COLUMNS:
            table.add_column(col, justify="left" if col in ("time", "status") else "right")
        for row in self.rows[-KEEP:]:
            table.add_row(*row)
        return table

    def __enter__(self) -> LiveTable:
        if self.plain:
            print("  ".join(COLUMNS), flush=True)
        else:
            self._live = Live(self._table(), console=Console(), auto_refresh=False)
            self._live.__enter__()
        return self

    def add(self, snapshot: Snapshot) -> None:
        row = cells(snapshot)
        self.rows.append(row)
        if self._live is not None:
            self._live.update(self._table(), refresh=True)
        else:
            print("  ".join(row), flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)


InfoFileOption = Annotated[
    Path | None,
    typer.Option("--info-file", help="playground info JSON (api_url, api_key, ca_file)"),
]
CaFileOption = Annotated[
    Path | None,
    typer.Option("--ca-file", envvar="VPP_API_CA_FILE", help="CA certificate for https"),
]


def dispatch(
    plant: Annotated[str, typer.Option("--plant", help="Plant id")],
    p_kw: Annotated[float, typer.Option("--p-kw", help="Target in kW (+ = injection)")],
    for_: Annotated[str, typer.Option("--for", help="ISO 8601 duration, e.g. PT15M")],
    api: Annotated[str | None, typer.Option("--api", envvar="VPP_API_URL")] = None,
    key: Annotated[str | None, typer.Option("--key", envvar="VPP_API_KEY")] = None,
    info_file: InfoFileOption = None,
    ca_file: CaFileOption = None,
    mode: Annotated[str, typer.Option("--mode", help="absolute | relative")] = "absolute",
    refuse_shortfall: Annotated[
        bool, typer.Option("--refuse-shortfall", help="refuse instead of accept a shortfall")
    ] = False,
    poll_s: Annotated[float, typer.Option("--poll-s", min=0.05)] = 2.0,
    timeout_s: Annotated[float | None, typer.Option("--timeout-s")] = None,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="send and exit")] = False,
) -> None:
    """Send a dispatch request for a plant and show target vs measured until it is final."""
    target = resolve_target(api, key, info_file, ca_file)
    headers = {"Authorization": f"Bearer {target.key}"}
    verify = target.verify()
    start = datetime.now(UTC)  # microseconds kept: a short interval must not end at once
    try:
        with httpx.Client(
            base_url=target.url, headers=headers, timeout=10.0, verify=verify
        ) as client:
            sent = send_dispatch(
                client,
                plant_id=plant,
                p_kw=p_kw,
                duration=for_,
                start=start,
                mode=mode,
                on_shortfall="refuse" if refuse_shortfall else "accept",
            )
            typer.echo(f"dispatch {sent['dispatch_id']}: {sent['status']} ({plant}, {p_kw} kW)")
            if sent["detail"]:
                typer.echo(sent["detail"])
            if no_follow:
                return
            with LiveTable(f"dispatch {sent['dispatch_id']} on {plant}") as table:
                final = follow(
                    client,
                    sent["dispatch_id"],
                    plant,
                    on_snapshot=table.add,
                    poll_s=poll_s,
                    timeout_s=timeout_s,
                )
    except (ApiProblem, httpx.HTTPError) as exc:
        typer.echo(f"vpp dispatch: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        typer.echo("stopped following; the dispatch goes on (DELETE it to cancel)", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"{final['status']}: {final['detail'] or ''}".rstrip(": "))
    if final["status"] != "completed":
        raise typer.Exit(1)

"""The tracking benchmark's reads: the API (plant, members, dispatch) and the acks on NATS.

Everything goes through the interfaces an operator or a script has: the HTTP API with the
playground's demo key, and the read-only ``observer`` NATS identity of ``info.json``
(``nats_client``) for the per-command acks (the API gives only their counts per dispatch).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.client import connect
from vpp.bootstrap.nats_client import settings_for
from vpp.domain.errors import VppError


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass
class AckRecorder:
    """Every ack the gateways publish, while it runs (a thread with its own event loop)."""

    client_file: Path
    acks: list[dict[str, Any]] = field(default_factory=list)
    undecodable: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> AckRecorder:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"cannot subscribe to the acks: {self._error!r}")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    async def _main(self) -> None:
        try:
            nc = await connect(settings_for(None, self.client_file), "bench-tracking")
            await nc.subscribe(f"{subjects.PREFIX}.ack.>", cb=self._on_ack)
        except (OSError, VppError, Exception) as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stop.is_set():
            await asyncio.sleep(0.2)
        await nc.drain()

    async def _on_ack(self, msg: Any) -> None:
        try:
            a = codec.decode_ack(msg.data)
        except VppError:
            self.undecodable += 1
            return
        self.acks.append(
            {
                "ts": rfc3339(a.ts),
                "der_id": a.der_id,
                "dispatch_id": a.dispatch_id,
                "outcome": a.outcome.value,
                "p_kw_requested": a.p_w_requested / 1000.0,
                "p_kw_applied": None if a.p_w_applied is None else a.p_w_applied / 1000.0,
                "clamped": a.clamped,
                "reason": a.reason,
            }
        )


def wait_for_members(api: httpx.Client, plant_id: str, timeout_s: float) -> dict[str, Any]:
    """The plant once every member reports (its envelope lists none unavailable)."""
    deadline = time.monotonic() + timeout_s
    while True:
        plant = api.get(f"/v1/plants/{plant_id}").raise_for_status().json()
        env = plant["envelope"]
        missing = env["members_unavailable"] + env["members_unregistered"]
        if not missing:
            return dict(plant)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{plant_id}: members without telemetry after {timeout_s} s: {missing}"
            )
        print(f"  waiting for telemetry of {plant_id}: {len(missing)} members missing", flush=True)
        time.sleep(3)


def der_info(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every DER of the tenant: kind, protocol and ratings (kW)."""
    items = api.get("/v1/ders", params={"limit": 1000}).raise_for_status().json()["items"]
    return {
        d["der_id"]: {"kind": d["kind"], "protocol": d["protocol"], "ratings": d["ratings"]}
        for d in items
    }


def member_latest(api: httpx.Client, pool: ThreadPoolExecutor, members: list[str]) -> list[Any]:
    """Each member's latest reading now (or the error text), read concurrently."""

    def one(der_id: str) -> dict[str, Any]:
        try:
            d = api.get(f"/v1/ders/{der_id}").raise_for_status().json()
        except httpx.HTTPError as exc:
            return {"der_id": der_id, "error": str(exc)}
        return {"der_id": der_id, "available": d["available"], "latest": compact(d["latest"])}

    return list(pool.map(one, members))


LATEST_FIELDS = ("ts", "p_kw", "soc", "p_avail_kw", "connected")


def compact(latest: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the diagnosis needs of a latest reading (the JSON stays small)."""
    if latest is None:
        return None
    out = {k: latest[k] for k in LATEST_FIELDS if latest.get(k) is not None}
    if latest.get("quality") != "good":
        out["quality"] = latest.get("quality")
    return out


def compact_ack(t: float, ack: dict[str, Any]) -> dict[str, Any]:
    """An ack at ``t`` s of the run, its reason kept only when it was not simply applied."""
    keep = ("der_id", "outcome", "p_kw_requested", "p_kw_applied", "clamped")
    out = {"t": round(t, 2), **{k: ack[k] for k in keep}}
    if ack["outcome"] != "applied" or ack["clamped"]:
        out["reason"] = ack["reason"]
    return out


def member_telemetry(
    api: httpx.Client, der_id: str, start: datetime, end: datetime
) -> list[tuple[str, float]]:
    """The member's raw readings (device timestamps) between ``start`` and ``end``."""
    r = api.get(
        f"/v1/ders/{der_id}/telemetry",
        params={"start": rfc3339(start), "end": rfc3339(end), "resolution": "raw"},
    ).raise_for_status()
    return [(p["ts"], p["p_kw"]) for p in r.json()["points"]]


def wait_final(api: httpx.Client, dispatch_id: str, timeout_s: float) -> dict[str, Any]:
    """The dispatch once final (or as it stands after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        d = dict(api.get(f"/v1/dispatches/{dispatch_id}").raise_for_status().json())
        if d["final"] or time.monotonic() > deadline:
            return d
        time.sleep(1)


def start_at(lead_s: float) -> datetime:
    """A whole second at least ``lead_s`` from now (the dispatch's first interval)."""
    t = datetime.now(UTC) + timedelta(seconds=lead_s)
    return t.replace(microsecond=0) + timedelta(seconds=1)

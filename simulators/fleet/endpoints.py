"""The endpoint list a running fleet publishes (``--endpoints OUT.json``).

One JSON object per device::

    {"der_id": "pv-0001", "kind": "pv", "protocol": "sunspec", "host": "127.0.0.1",
     "port": 15020, "unit_id": 1, "ratings": {"p_min_w": 0.0, "p_max_w": 8000.0, ...}}

    {"der_id": "bat-0001", "kind": "battery", "protocol": "iec61850", "host": "127.0.0.1",
     "port": 10102, "ied": "Sbat_0001", "ld": "Sbat_0001DER", "ld_inst": "DER",
     "ctl_model": "direct-with-normal-security", "scl": "/…/models/iec61850-7-420/battery.icd",
     "ratings": {...}}

Ratings are SI (W, Wh) with the field names of :class:`vpp.domain.DerRatings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulators.fleet.spec import DeviceSpec

LD_INST = "DER"


def endpoint_of(d: DeviceSpec, port: int, scl: Path | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "der_id": d.der_id,
        "kind": d.kind,
        "protocol": d.protocol,
        "host": d.host,
        "port": port,
    }
    if d.protocol == "sunspec":
        out["unit_id"] = d.unit_id
    else:
        out.update(
            ied=d.ied,
            ld=f"{d.ied}{LD_INST}",
            ld_inst=LD_INST,
            ctl_model=d.ctl_model,
            scl=str(scl) if scl else "",
        )
    out["ratings"] = dict(d.ratings)
    return out


def endpoint_table(endpoints: list[dict[str, Any]]) -> str:
    """A plain-text table for people."""
    rows = [("der_id", "kind", "protocol", "address", "unit/LD", "p_min_w", "p_max_w")]
    for e in endpoints:
        where = str(e.get("unit_id", "")) if e["protocol"] == "sunspec" else e.get("ld", "")
        r = e["ratings"]
        rows.append(
            (
                e["der_id"],
                e["kind"],
                e["protocol"],
                f"{e['host']}:{e['port']}",
                where,
                f"{r['p_min_w']:g}",
                f"{r['p_max_w']:g}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )

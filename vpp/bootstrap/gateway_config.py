"""A ``gateway.yaml`` document for the devices of a simulator endpoint list
(``vpp sim serve --endpoints``): what ``vpp gateway config-from`` writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

from vpp.bootstrap.gateway import GatewayBuildError
from vpp.domain.der import RATINGS_FIELDS


class NatsDocument(TypedDict):
    url: str


class SecurityDocument(TypedDict, total=False):
    command_keys_file: str
    allow_unsigned_commands: bool


class GatewayDocument(TypedDict):
    """The top level of ``gateway.yaml`` as written by :func:`gateway_config_from_endpoints`."""

    gateway_id: str
    nats: NatsDocument
    data_dir: str
    security: SecurityDocument
    devices: list[dict[str, object]]


def _int(value: object, what: str) -> int:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return int(value)
    raise GatewayBuildError(f"endpoint {what} is not a number: {value!r}")


def device_from_endpoint(endpoint: Mapping[str, object], poll_s: float) -> dict[str, object]:
    """One ``devices`` entry of ``gateway.yaml`` for one simulator endpoint."""
    e = endpoint
    dev: dict[str, object] = {
        "der_id": e["der_id"],
        "kind": e["kind"],
        "protocol": e["protocol"],
        "host": e.get("host", "127.0.0.1"),
        "port": _int(e["port"], "port"),
        "poll_s": poll_s,
    }
    if e["protocol"] == "sunspec":
        dev["unit_id"] = _int(e.get("unit_id", 1), "unit_id")
    else:
        dev["ied"] = e["ied"]
        dev["ld"] = e.get("ld_inst") or e["ld"]
        if e.get("scl"):
            dev["scl_file"] = e["scl"]
    ratings = e.get("ratings")
    if isinstance(ratings, dict):
        dev["ratings"] = {k: v for k, v in ratings.items() if k in RATINGS_FIELDS}
    else:
        dev["ratings"] = "device"
    return dev


def gateway_config_from_endpoints(
    endpoints: Sequence[Mapping[str, object]],
    *,
    gateway_id: str = "gw1",
    nats_url: str = "nats://127.0.0.1:4222",
    data_dir: str = "gateway-data",
    poll_s: float = 1.0,
    command_keys_file: str | None = None,
    allow_unsigned_commands: bool = False,
) -> GatewayDocument:
    """A ``gateway.yaml`` document (as a dict) for the devices of a simulator endpoint list;
    commands verified against ``command_keys_file`` (or, said out loud, not at all)."""
    security: SecurityDocument = {}
    if command_keys_file is not None:
        security["command_keys_file"] = command_keys_file
    if allow_unsigned_commands:
        security["allow_unsigned_commands"] = True
    return {
        "gateway_id": gateway_id,
        "nats": {"url": nats_url},
        "data_dir": data_dir,
        "security": security,
        "devices": [device_from_endpoint(e, poll_s) for e in endpoints],
    }

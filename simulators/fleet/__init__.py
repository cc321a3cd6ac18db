"""Fleets of simulated DERs: a YAML description, worker processes, an endpoint list."""

from __future__ import annotations

from simulators.fleet.endpoints import endpoint_table
from simulators.fleet.launcher import FleetStartError, RunningFleet, load_fleet, start_fleet
from simulators.fleet.spec import DeviceSpec, expand_fleet

__all__ = [
    "DeviceSpec",
    "FleetStartError",
    "RunningFleet",
    "endpoint_table",
    "expand_fleet",
    "load_fleet",
    "start_fleet",
]

"""An in-process fleet of SunSpec simulators for the gateway tests.

Uses the simulators' own classes (physics + SunSpecDevice + SunSpecServer) on free
loopback ports, steps their physics every ``step_s`` and publishes the endpoint list in
the format of ``vpp sim serve --endpoints``.  (Stand-in until the simulators' fleet
launcher is committed; same endpoint shape.)
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.physics import example_ratings, make_model
from simulators.sunspec import SunSpecDevice, SunSpecServer
from vpp.domain import DerKind

PREFIX = {
    DerKind.PV: "pv",
    DerKind.BATTERY: "bat",
    DerKind.EV_CHARGER: "ev",
    DerKind.CHP: "chp",
    DerKind.HEAT_PUMP: "hp",
    DerKind.FLEXIBLE_LOAD: "load",
}


@dataclass
class SunSpecFleet:
    devices: dict[str, SunSpecDevice] = field(default_factory=dict)
    servers: dict[str, SunSpecServer] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    step_s: float = 0.5
    _task: asyncio.Task[None] | None = None

    async def add(self, kind: DerKind, der_id: str, params: dict[str, Any] | None = None) -> None:
        ratings = example_ratings(kind)
        model = make_model(kind, der_id, ratings, params=params, seed=7)
        device = SunSpecDevice(model)
        server = SunSpecServer(device)
        port = await server.start()
        self.devices[der_id] = device
        self.servers[der_id] = server
        r = ratings
        self.endpoints.append(
            {
                "der_id": der_id,
                "kind": kind.value,
                "protocol": "sunspec",
                "host": "127.0.0.1",
                "port": port,
                "unit_id": 1,
                "ratings": {
                    "p_min_w": r.p_min_w,
                    "p_max_w": r.p_max_w,
                    "energy_wh": r.energy_wh,
                    "min_stable_w": r.min_stable_w,
                    "soc_min": r.soc_min,
                    "soc_max": r.soc_max,
                    "q_max_var": r.q_max_var,
                    "min_off_s": r.min_off_s,
                },
            }
        )

    async def _step_forever(self) -> None:
        last = datetime.now(UTC)
        while True:
            await asyncio.sleep(self.step_s)
            now = datetime.now(UTC)
            dt = (now - last).total_seconds()
            last = now
            for dev in self.devices.values():
                dev.tick(now, dt)

    def start_stepping(self) -> None:
        self._task = asyncio.create_task(self._step_forever())

    async def stop_server(self, der_id: str) -> None:
        await self.servers[der_id].stop()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                await server.stop()


async def start_sunspec_fleet(kinds: dict[DerKind, int], step_s: float = 0.5) -> SunSpecFleet:
    fleet = SunSpecFleet(step_s=step_s)
    for kind, count in kinds.items():
        for i in range(count):
            await fleet.add(kind, f"{PREFIX[kind]}-{i + 1:04d}")
    for dev in fleet.devices.values():
        dev.tick(datetime.now(UTC), 1.0)
    fleet.start_stepping()
    return fleet

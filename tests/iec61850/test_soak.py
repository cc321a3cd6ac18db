"""Soak: 100 IEC 61850 devices (50 simulators, 50 threaded libiec61850 peers), buffered
reports on all, reads and setpoints at once, for ``VPP_IEC61850_SOAK_S`` seconds (default
75).  It proves what FACTS.md says the pyiec61850-ng client cannot do: no hang (every
operation ends, the event loop is never blocked), no leak (memory, threads and file
descriptors come back), and reports keep flowing while controls run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulators.fleet import start_fleet
from tests.harness.iec61850 import (
    DIRECT,
    SBO,
    driver_for,
    fleet_spec,
    group,
    start_threaded_servers,
)
from vpp.adapters.iec61850 import Iec61850Driver
from vpp.application.ports import DeviceError
from vpp.domain.telemetry import Reading
from vpp.runtime import stop_process

DEVICES = 100
SCL = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420" / "battery.icd"
SOAK_S = float(os.environ.get("VPP_IEC61850_SOAK_S", "75"))
OP_LIMIT_S = 30.0  # a read or setpoint still running after this is a hang
CONNECT_LIMIT_S = 120.0
SETPOINT_EVERY = 5  # polls
#: the workload itself: each device loop reads once a second (and backs off as long
#: after an error, as the gateway would)
READ_PERIOD_S = 1.0
CONNECTS_AT_ONCE = 10  # a gateway starting up does not open 100 associations at once


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def threaded_peer(base: int, i: int) -> dict[str, object]:
    ied = f"F{base}D{i:03d}"
    return {"der_id": f"t-{i}", "kind": "battery", "host": "127.0.0.1", "port": base + i,
            "ied": ied, "ld_inst": "DER", "scl": str(SCL)}  # fmt: skip


def connection_threads() -> list[str]:
    """The driver's per-device threads and open61850's receive threads still alive."""
    names = (t.name for t in threading.enumerate())
    return [n for n in names if n.startswith(("iec61850-", "mms-client-rx"))]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Tally:
    reads: int = 0
    setpoints: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    hangs: int = 0
    max_loop_lag_s: float = 0.0

    def error(self, exc: BaseException) -> None:
        key = f"{type(exc).__name__}: {exc}"[:100]
        self.errors[key] = self.errors.get(key, 0) + 1


async def bounded(tally: Tally, coro, limit_s: float = OP_LIMIT_S) -> object:  # type: ignore[no-untyped-def]
    try:
        return await asyncio.wait_for(coro, limit_s)
    except TimeoutError:
        tally.hangs += 1
        raise


async def device_loop(tally: Tally, driver: Iec61850Driver, index: int, stop: float) -> None:
    await asyncio.sleep(index % 20 / 20)
    tick = 0
    while time.monotonic() < stop:
        tick += 1
        try:
            await bounded(tally, driver.read())
            tally.reads += 1
            if tick % SETPOINT_EVERY == index % SETPOINT_EVERY:
                p_w = -500.0 - 10.0 * (tick % 7)  # within every battery's ratings
                await bounded(tally, driver.apply_setpoint(p_w, revert_after_s=30.0))
                tally.setpoints += 1
        except (DeviceError, TimeoutError) as exc:
            tally.error(exc)
            await asyncio.sleep(READ_PERIOD_S)
            try:
                await bounded(tally, driver.connect(), CONNECT_LIMIT_S)  # the gateway's retry
            except (DeviceError, TimeoutError) as again:
                tally.error(again)
        await asyncio.sleep(READ_PERIOD_S)


async def final_reading(tally: Tally, driver: Iec61850Driver) -> Reading:
    """Every device ends healthy: read, or reconnect once (as the gateway would) and read."""
    try:
        return await bounded(tally, driver.read())  # type: ignore[return-value]
    except DeviceError:
        await bounded(tally, driver.connect(), CONNECT_LIMIT_S)
        return await bounded(tally, driver.read())  # type: ignore[return-value]


async def watch_loop_lag(tally: Tally, stop: float) -> None:
    while time.monotonic() < stop:
        before = time.monotonic()
        await asyncio.sleep(0.1)
        tally.max_loop_lag_s = max(tally.max_loop_lag_s, time.monotonic() - before - 0.1)


async def run_soak(drivers: list[Iec61850Driver]) -> tuple[Any, ...]:
    """Connect every driver, run the device loops for ``SOAK_S``, read once more, close."""
    tally = Tally()
    try:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

        async def connect(d: Iec61850Driver) -> None:
            async with gate:
                await bounded(tally, d.connect(), CONNECT_LIMIT_S)

        await asyncio.gather(*(connect(d) for d in drivers))
        assert all(d.report_block == "LLN0$BR$brcbMX01" for d in drivers)
        start = time.monotonic()
        stop = start + SOAK_S
        loops = [device_loop(tally, d, i, stop) for i, d in enumerate(drivers)]
        warm = asyncio.create_task(asyncio.sleep(min(25.0, SOAK_S / 3)))
        work = asyncio.gather(*loops, watch_loop_lag(tally, stop))
        await warm
        rss_warm, reads_warm = rss_mb(), tally.reads
        await work
        rss_end = rss_mb()
        finals = await asyncio.gather(*(final_reading(tally, d) for d in drivers))
        reports = sum(d.reports_received for d in drivers)
        fallbacks = sum(d.fallback_reads for d in drivers)
    finally:
        await asyncio.gather(*(d.close() for d in drivers), return_exceptions=True)
    elapsed = time.monotonic() - start
    return tally, elapsed, finals, reports, fallbacks, rss_warm, rss_end, reads_warm


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_soak_100_devices_reports_and_controls_no_hang_no_leak() -> None:
    fds0 = open_fds()
    assert not connection_threads()
    # half the simulators (threadless: they send reports when a request arrives), half
    # threaded libiec61850 servers (reports at their own time, into running requests)
    quarter = DEVICES // 4
    peers_stop = contextlib.ExitStack()  # every peer process stops, whatever fails
    with peers_stop:
        fleet = peers_stop.enter_context(
            start_fleet(
                fleet_spec(
                    [group("battery", "sd", quarter, DIRECT), group("battery", "ss", quarter, SBO)]
                )
            )
        )
        threaded, base = start_threaded_servers(DEVICES - 2 * quarter)
        peers_stop.callback(stop_process, threaded)
        peers = fleet.endpoints + [threaded_peer(base, i) for i in range(DEVICES - 2 * quarter)]
        results = await run_soak([driver_for(e, timeout_s=5.0, poll_s=1.0) for e in peers])
    tally, elapsed, finals, reports, fallbacks, rss_warm, rss_end, reads_warm = results
    errors = sum(tally.errors.values())
    summary = (
        f"{DEVICES} devices {elapsed:.0f}s: reads {tally.reads}, setpoints {tally.setpoints}, "
        f"reports {reports}, fallback reads {fallbacks}, errors {errors} {tally.errors}, "
        f"hangs {tally.hangs}, max loop lag {tally.max_loop_lag_s:.3f}s, "
        f"rss {rss_warm:.1f} -> {rss_end:.1f} MB after {reads_warm} reads"
    )
    print(summary)
    assert tally.hangs == 0, summary
    assert tally.max_loop_lag_s < 1.0, summary  # the event loop was never blocked
    expected_reads = DEVICES * SOAK_S * 0.8
    assert tally.reads >= expected_reads, summary
    assert tally.setpoints >= tally.reads / SETPOINT_EVERY * 0.8, summary
    assert errors <= tally.reads * 0.02, summary  # transient, retried; none expected at rest
    assert reports >= DEVICES * SOAK_S * 0.8, summary  # the data set reports every second
    now = datetime.now(UTC)
    assert all((now - r.ts).total_seconds() < 10.0 for r in finals), summary
    assert rss_end - rss_warm < 12.0, summary
    for _ in range(50):  # every connection's threads and sockets are gone after close
        if not connection_threads() and open_fds() <= fds0 + 5:
            break
        await asyncio.sleep(0.1)
    assert not connection_threads(), connection_threads()
    assert open_fds() <= fds0 + 5

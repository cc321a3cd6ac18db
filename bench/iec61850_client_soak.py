"""Soak-compare IEC 61850 MMS clients: many devices, reports and controls at once.

    python bench/iec61850_client_soak.py --clients open61850 iec61850 pyiec61850 \
        --devices 100 --duration 120 --json bench/results/iec61850_client_soak.json

For each client: start the test fleet (``simulators/iec61850/minimal_fleet.py``, its own
process, servers change their measurements every second so buffered reports flow), then
a client process that connects to every device, enables the BRCB, reads ``TotW`` once a
second per device and operates the APC setpoint every 5 s per device (half direct, half
SBO).  The runner watches the client's progress lines: no line for ``--stall`` seconds
is a hang (a blocked GIL stops everything, a watchdog inside the process would hang too)
and the client is killed.  After the soak, a 5 s burst measures reads/s capacity.
Prints a table and writes JSON.  Every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.iec61850_client_backends import BACKENDS  # noqa: E402

OP_TIMEOUT_S = 15.0


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n: dict[str, float] = dict.fromkeys(
            ("reads", "read_err", "reports", "ctl_ok", "ctl_err", "hangs", "max_lat_s"), 0
        )
        self.errors: dict[str, int] = {}

    def add(self, key: str, k: float = 1) -> None:
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k

    def error(self, key: str, exc: BaseException) -> None:
        self.add(key)
        text = f"{type(exc).__name__}: {exc}"[:80]
        with self.lock:
            self.errors[text] = self.errors.get(text, 0) + 1

    def latency(self, seconds: float) -> None:
        with self.lock:
            self.n["max_lat_s"] = max(self.n["max_lat_s"], seconds)


async def timed(c: Counters, coro: Any) -> Any:
    """Run one operation; still running after ``OP_TIMEOUT_S`` counts as a hang (a
    library's own request timeout is an error, not a hang)."""
    start = time.monotonic()
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=OP_TIMEOUT_S)
        if not done:
            c.add("hangs")
            task.cancel()
            raise RuntimeError(f"hang: no result after {OP_TIMEOUT_S:g} s")
        return task.result()
    finally:
        c.latency(time.monotonic() - start)


async def device_loop(c: Counters, dev: Any, index: int, stop: float) -> None:
    await asyncio.sleep((index % 50) / 50)
    tick = 0
    while time.monotonic() < stop:
        tick += 1
        try:
            await timed(c, dev.read_totw())
            c.add("reads")
        except Exception as exc:
            c.error("read_err", exc)
        if tick % 5 == index % 5:
            try:
                await timed(c, dev.operate(1000.0 + tick, sbo=index % 2 == 1))
                c.add("ctl_ok")
            except Exception as exc:
                c.error("ctl_err", exc)
        await asyncio.sleep(1.0)


async def burst(c: Counters, devices: list[Any], seconds: float) -> float:
    stop = time.monotonic() + seconds
    done = 0

    async def one(dev: Any) -> None:
        nonlocal done
        while time.monotonic() < stop:
            try:
                await timed(c, dev.read_totw())
                done += 1
            except Exception as exc:
                c.error("read_err", exc)

    await asyncio.gather(*(one(d) for d in devices))
    return done / seconds


async def client_main(args: argparse.Namespace) -> None:
    c = Counters()
    pool = ThreadPoolExecutor(max_workers=min(2 * args.devices, 256))
    devices: list[Any] = []
    connect_err = 0
    for i in range(args.devices):
        dev = BACKENDS[args.client](pool)
        try:
            await timed(c, dev.connect(args.base_port + i, f"{args.prefix}D{i:03d}", _cb(c)))
            devices.append(dev)
        except Exception as exc:
            connect_err += 1
            c.error("connect", exc)
    start = time.monotonic()
    stop = start + args.duration
    tasks = [asyncio.create_task(device_loop(c, d, i, stop)) for i, d in enumerate(devices)]
    rss_warm = 0
    while time.monotonic() < stop:
        await asyncio.sleep(5.0)
        elapsed = time.monotonic() - start
        if rss_warm == 0 and elapsed >= 30:
            rss_warm = rss_kb()
        emit(dict(c.n, t=round(elapsed), rss_kb=rss_kb(), threads=threading.active_count()))
    await asyncio.gather(*tasks)
    rss_end = rss_kb()
    reads_per_s = await burst(c, devices, 5.0)
    for dev in devices:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dev.close(), 5)
    emit(
        dict(
            c.n,
            final=True,
            connected=len(devices),
            connect_err=connect_err,
            rss_warm_kb=rss_warm,
            rss_end_kb=rss_end,
            burst_reads_per_s=round(reads_per_s),
            errors=c.errors,
        )
    )
    pool.shutdown(wait=False, cancel_futures=True)
    os._exit(0)  # a wedged library thread must not keep the process alive


def _cb(c: Counters) -> Any:
    return lambda: c.add("reports")


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def start_fleet(args: argparse.Namespace, prefix: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "simulators.iec61850.minimal_fleet", "--base-port",
           str(args.base_port), "--count", str(args.devices), "--prefix", prefix,
           "--ctl", "mixed", "--duration", str(args.duration + 120)]  # fmt: skip
    fleet = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = fleet.stdout.readline() if fleet.stdout else ""
    if not line.startswith("READY"):
        fleet.kill()
        raise RuntimeError(f"fleet did not start: {line!r}")
    # libiec61850's SWIG layer prints on stdout; drain it or the fleet blocks on a full pipe
    threading.Thread(target=lambda: [None for _ in fleet.stdout], daemon=True).start()  # type: ignore[union-attr]
    return fleet


def run_client(args: argparse.Namespace, client: str, prefix: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--role", "client", "--client", client, "--devices",
           str(args.devices), "--duration", str(args.duration), "--base-port",
           str(args.base_port), "--prefix", prefix]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    last: dict[str, Any] = {}
    lines: list[str] = []
    reader = threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    seen, last_progress = 0, time.monotonic()
    budget = time.monotonic() + args.duration + args.devices * 1.0 + 120
    while proc.poll() is None and time.monotonic() < budget:
        time.sleep(1.0)
        if len(lines) > seen:
            seen, last_progress = len(lines), time.monotonic()
            last = json.loads(lines[-1])
            print(client, lines[-1].strip()[:160], flush=True)
        elif time.monotonic() - last_progress > args.stall:
            last["process_hang"] = True
            break
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    reader.join(timeout=2)
    if lines:
        last = {**json.loads(lines[-1]), **{k: v for k, v in last.items() if k == "process_hang"}}
    last.setdefault("final", False)
    return last


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--role", choices=("runner", "client"), default="runner")
    p.add_argument("--client", default="open61850")
    p.add_argument("--clients", nargs="+", default=list(BACKENDS))
    p.add_argument("--devices", type=int, default=100)
    p.add_argument("--duration", type=float, default=120.0)
    p.add_argument("--base-port", type=int, default=22000)
    p.add_argument("--prefix", default="S")
    p.add_argument("--stall", type=float, default=30.0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    if args.role == "client":
        asyncio.run(client_main(args))
        return 0
    results: dict[str, Any] = {}
    for n, client in enumerate(args.clients):
        prefix = f"{args.prefix}{n}"
        fleet = start_fleet(args, prefix)
        try:
            results[client] = run_client(args, client, prefix)
        finally:
            fleet.terminate()
            try:
                fleet.wait(timeout=20)
            except subprocess.TimeoutExpired:
                fleet.kill()
                fleet.wait()
    print_table(results, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"devices": args.devices, "duration_s": args.duration,
                                         "results": results}, indent=2))  # fmt: skip
    return 0


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n{args.devices} devices, {args.duration:g} s soak, BRCB on all, reads 1/s, "
          "controls every 5 s per device (half SBO)")  # fmt: skip
    head = ("client", "finished", "hang", "connected", "reads", "read_err", "reports", "ctl_ok",
            "ctl_err", "op>15s", "max_lat_s", "rss_warm_MB", "rss_end_MB", "burst_r/s")  # fmt: skip
    print(" | ".join(head))
    for name, r in results.items():
        row = (name, r.get("final"), r.get("process_hang", False), r.get("connected", "?"),
               r.get("reads"), r.get("read_err"), r.get("reports"), r.get("ctl_ok"),
               r.get("ctl_err"), r.get("hangs"), round(r.get("max_lat_s", 0), 2),
               round(r.get("rss_warm_kb", 0) / 1024, 1), round(r.get("rss_end_kb", 0) / 1024, 1),
               r.get("burst_reads_per_s"))  # fmt: skip
        print(" | ".join(str(x) for x in row))
    for name, r in results.items():
        for text, count in sorted(r.get("errors", {}).items(), key=lambda kv: -kv[1])[:5]:
            print(f"  {name}: {count} x {text}")


if __name__ == "__main__":
    sys.exit(main())

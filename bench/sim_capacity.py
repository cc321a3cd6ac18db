"""How many simulated devices one machine serves at 1 Hz polling, per protocol.

    python bench/sim_capacity.py [--sunspec 250,500,1000,1500] [--iec 100,200,300,400]
                                 [--seconds 20] [--out bench/results/sim_capacity.json]

For each level it starts a fleet of N devices of one protocol (worker processes, as
``vpp sim serve`` does), connects one client per device from separate client processes
(one per 500 devices unless ``--client-procs`` says otherwise) and polls every device
once a second (SunSpec: the 701 measurement block with pymodbus;
IEC 61850: ``MMXU1.TotW.mag.f`` with the open61850 client, 8 polling threads).  It
reports request latency (p50 / p99 / max), errors, the server processes' CPU (percent of
one core, summed) and resident memory, and the client's CPU.  A level passes when
p99 < 50 ms without errors; the ramp of a protocol stops at its first failing level.
Everything is bounded: one level is ``--seconds`` of measurement plus start/stop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from simulators.fleet import start_fleet

TICKS = os.sysconf("SC_CLK_TCK")
KINDS = ("pv", "battery", "ev_charger", "heat_pump", "flexible_load", "chp")
P99_LIMIT_MS = 50.0


def fleet_of(n: int, protocol: str) -> dict:
    per_kind, rest = divmod(n, len(KINDS))
    groups = [
        {
            "kind": k,
            "id_prefix": k.replace("_", ""),
            "count": per_kind + (i < rest),
            "protocol": protocol,
        }
        for i, k in enumerate(KINDS)
    ]
    return {"seed": 1, "groups": [g for g in groups if g["count"]]}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def poll_sunspec(endpoints: list[dict], seconds: float, warmup: float) -> tuple[list, int]:
    from pymodbus.client import AsyncModbusTcpClient

    latencies: list[float] = []
    errors = 0
    clients = []
    for e in endpoints:
        c = AsyncModbusTcpClient(e["host"], port=e["port"], timeout=2, retries=0)
        await c.connect()
        clients.append((c, e))
    start = time.monotonic()
    end = start + warmup + seconds

    async def one(c, e, offset: float) -> None:
        nonlocal errors
        await asyncio.sleep(offset)
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                rr = await c.read_holding_registers(40072, count=40, device_id=e["unit_id"])
                ok = not rr.isError()
            except Exception:
                ok = False
            dt = time.monotonic() - t0
            if t0 >= start + warmup:
                latencies.append(dt * 1000)
                errors += 0 if ok else 1
            await asyncio.sleep(max(0.0, 1.0 - dt))

    n = len(clients)
    await asyncio.gather(*(one(c, e, i / n) for i, (c, e) in enumerate(clients)))
    for c, _ in clients:
        c.close()
    return latencies, errors


def poll_iec(endpoints: list[dict], seconds: float, warmup: float) -> tuple[list, int]:
    from open61850.mms import MmsClient

    clients = [(MmsClient.connect(e["host"], e["port"], timeout=5), e) for e in endpoints]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic()
    end = start + warmup + seconds
    threads = 8

    def worker(k: int) -> None:
        mine = clients[k::threads]
        period = 1.0
        next_due = [start + (i * threads + k) / max(1, len(clients)) for i in range(len(mine))]
        while time.monotonic() < end:
            i = min(range(len(mine)), key=next_due.__getitem__)
            wait = next_due[i] - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            c, e = mine[i]
            t0 = time.monotonic()
            try:
                c.read(f"{e['ld']}/MMXU1.TotW.mag.f [MX]")
                ok = True
            except Exception:
                ok = False
            dt = (time.monotonic() - t0) * 1000
            if t0 >= start + warmup:
                with lock:
                    latencies.append(dt)
                    errors[0] += 0 if ok else 1
            next_due[i] += period

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    for c, _ in clients:
        c.close()
    return latencies, errors[0]


def _client_process(protocol: str, endpoints: list[dict], seconds: float, warmup: float, q) -> None:
    t0 = os.times()
    if protocol == "sunspec":
        latencies, errors = asyncio.run(poll_sunspec(endpoints, seconds, warmup))
    else:
        latencies, errors = poll_iec(endpoints, seconds, warmup)
    t1 = os.times()
    q.put((latencies, errors, t1.user + t1.system - t0.user - t0.system))


def run_level(protocol: str, n: int, seconds: float, clients: int, warmup: float = 5.0) -> dict:
    """One level: N devices, polled at 1 Hz by ``clients`` client processes."""
    import multiprocessing as mp

    t_start = time.monotonic()
    per = {"sunspec": int(os.environ.get("SIM_PER_PROCESS", 500)), "iec61850": 100}
    fleet = start_fleet(fleet_of(n, protocol), per_process=per, ready_timeout_s=180)
    started_s = time.monotonic() - t_start
    try:
        pids = fleet.pids
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        procs = [
            ctx.Process(
                target=_client_process,
                args=(protocol, fleet.endpoints[k::clients], seconds, warmup, q),
            )
            for k in range(clients)
        ]
        for p in procs:
            p.start()
        time.sleep(warmup + 1.0)  # clients connect, then measure
        cpu0 = {p: cpu_seconds(p) for p in pids}
        t0 = time.monotonic()
        results = [q.get(timeout=seconds + warmup + 300) for _ in procs]
        elapsed = time.monotonic() - t0
        cpu1 = {p: cpu_seconds(p) for p in pids}
        for p in procs:
            p.join()
        latencies = [x for r in results for x in r[0]]
        errors = sum(r[1] for r in results)
        client_cpu = sum(r[2] for r in results) / (seconds + warmup) * 100
        server_cpu = sum(cpu1[p] - cpu0[p] for p in pids) / max(elapsed, 1e-9) * 100
        rss = sum(rss_mb(p) for p in pids)
        alive = fleet.alive()
    finally:
        codes = fleet.stop()
    p99 = percentile(latencies, 0.99)
    return {
        "protocol": protocol,
        "devices": n,
        "processes": len(pids),
        "client_processes": clients,
        "start_s": round(started_s, 2),
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies) if latencies else float("nan"), 2),
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "errors": errors,
        "server_cpu_pct": round(server_cpu, 1),
        "server_rss_mb": round(rss, 1),
        "client_cpu_pct": round(client_cpu, 1),
        "clean_exit": alive and codes == [0] * len(codes),
        "pass": p99 < P99_LIMIT_MS and errors == 0 and len(latencies) > 0.9 * n * seconds,
    }


def table(rows: list[dict]) -> str:
    cols = ("protocol", "devices", "processes", "client_processes", "req_per_s", "p50_ms",
            "p99_ms", "max_ms", "errors", "server_cpu_pct", "server_rss_mb", "client_cpu_pct",
            "pass")  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sunspec", default="250,500,1000,1500")
    ap.add_argument("--iec", default="100,200,300,400")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--client-procs", type=int, default=0, help="0: one per 500 devices")
    ap.add_argument("--out", type=Path, default=Path("bench/results/sim_capacity.json"))
    args = ap.parse_args(argv)
    rows: list[dict] = []
    for protocol, levels in (("sunspec", args.sunspec), ("iec61850", args.iec)):
        for n in [int(x) for x in levels.split(",") if x]:
            clients = args.client_procs or max(1, -(-n // 500))
            row = run_level(protocol, n, args.seconds, clients)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if not row["pass"]:
                break
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "bench": "sim_capacity",
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "p99_limit_ms": P99_LIMIT_MS,
        "poll_hz": 1.0,
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

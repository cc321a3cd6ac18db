"""How many SunSpec devices one gateway process polls at 1 Hz (p99 cycle < 1 s)?

    python bench/gateway_sunspec.py [--steps 100,250,500,750,1000] [--measure-s 20]

For each fleet size: SunSpec simulators in separate processes (<= 500 per process), a
private nats-server, and the real gateway (``build_gateway``) in this process, polling
every device at 1 Hz and publishing to JetStream.  After warm-up it measures for
``--measure-s`` seconds: cycle time (scheduled tick -> reading in hand) p50/p99/max,
readings per second, the gateway process's CPU (per device), the simulators' CPU, and
the mean publish lag.  Stops at the first size that misses 1 Hz or p99 < 1 s, and after
``--budget-s`` in total.  Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vpp.adapters.nats.server import start_nats_server  # noqa: E402
from vpp.bootstrap import build_gateway  # noqa: E402
from vpp.bootstrap.gateway_config import gateway_config_from_endpoints  # noqa: E402
from vpp.bootstrap.signing import create_keys, export_keys  # noqa: E402
from vpp.config.gateway import GatewayConfig  # noqa: E402

PER_PROCESS = 500
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start_sims(n: int, duration: float) -> tuple[list[subprocess.Popen[str]], list[dict]]:
    procs, endpoints = [], []
    for shard in range((n + PER_PROCESS - 1) // PER_PROCESS):
        count = min(PER_PROCESS, n - shard * PER_PROCESS)
        procs.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "gateway_sim_worker.py"),
                 "--count", str(count), "--prefix", f"s{shard}", "--duration", str(duration)],
                stdout=subprocess.PIPE, text=True, start_new_session=True,
            )
        )  # fmt: skip
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line:
            raise RuntimeError("simulator worker died")
        endpoints.extend(json.loads(line))
    return procs, endpoints


def stop_sims(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


T0 = time.monotonic()


def stage(text: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f} s] {text}", file=sys.stderr, flush=True)


async def measure(n: int, nats_url: str, data: Path, warmup_s: float, measure_s: float) -> dict:
    stage(f"{n} devices: starting simulators")
    procs, endpoints = start_sims(n, duration=warmup_s + measure_s + 120)
    stage("simulators listen; starting the gateway")
    try:
        keys = data / f"command-keys-{n}.pub"
        create_keys(data / f"command-signing-{n}")
        export_keys(data / f"command-signing-{n}", keys)
        doc = gateway_config_from_endpoints(
            endpoints,
            gateway_id=f"bench-{n}",
            nats_url=nats_url,
            data_dir=str(data / str(n)),
            command_keys_file=str(keys),
        )
        built = build_gateway(GatewayConfig.model_validate(doc))
        task = asyncio.create_task(built.run())
        await built.wait_started(30)
        gw = built.gateway
        t_connect = time.monotonic()
        while not all(r.healthy for r in gw.runners.values()):
            if time.monotonic() - t_connect > 60:
                break
            await asyncio.sleep(0.2)
        connect_s = time.monotonic() - t_connect
        stage(f"{sum(r.healthy for r in gw.runners.values())} healthy after {connect_s:.1f} s")
        await asyncio.sleep(warmup_s)
        gw.cycle_samples.clear()
        lag = built.metrics.publish_lag
        lag0 = (lag._sum.get(), sum(b.get() for b in lag._buckets))
        poll = built.metrics.poll_latency
        poll0 = (poll._sum.get(), sum(b.get() for b in poll._buckets))
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        s0 = sum(proc_cpu_s(p.pid) for p in procs)
        n0, t0 = gw.readings_produced, time.monotonic()
        await asyncio.sleep(measure_s)
        wall = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        s1 = sum(proc_cpu_s(p.pid) for p in procs)
        readings = gw.readings_produced - n0
        samples = list(gw.cycle_samples)
        lag1 = (lag._sum.get(), sum(b.get() for b in lag._buckets))
        poll1 = (poll._sum.get(), sum(b.get() for b in poll._buckets))
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        healthy = sum(r.healthy for r in gw.runners.values())
        depth = built.buffer.depth_readings
        stage("measured; stopping the gateway")
        built.stop()
        await asyncio.wait_for(task, 60)
        stage("gateway stopped")
    finally:
        stop_sims(procs)
    return {
        "devices": n,
        "healthy": healthy,
        "connect_s": round(connect_s, 2),
        "readings_per_s": round(readings / wall, 1),
        "cycle_p50_ms": round(pct(samples, 0.50) * 1e3, 2),
        "cycle_p99_ms": round(pct(samples, 0.99) * 1e3, 2),
        "cycle_max_ms": round(max(samples) * 1e3, 2) if samples else None,
        "gateway_cpu_pct": round(100 * cpu / wall, 1),
        "cpu_ms_per_device_s": round(1e3 * cpu / wall / n, 3),
        "sim_cpu_pct": round(100 * (s1 - s0) / wall, 1),
        "publish_lag_mean_ms": round(1e3 * (lag1[0] - lag0[0]) / max(1.0, lag1[1] - lag0[1]), 1),
        "buffer_depth_end": depth,
        "poll_mean_ms": round(1e3 * (poll1[0] - poll0[0]) / max(1.0, poll1[1] - poll0[1]), 2),
        "mean_cycle_ms": round(statistics.fmean(samples) * 1e3, 2) if samples else None,
    }


def table(rows: list[dict]) -> str:
    cols = [
        ("devices", "devices"), ("healthy", "healthy"), ("readings_per_s", "readings/s"),
        ("cycle_p50_ms", "cycle p50 ms"), ("cycle_p99_ms", "cycle p99 ms"),
        ("cycle_max_ms", "max ms"), ("gateway_cpu_pct", "gateway CPU %"),
        ("cpu_ms_per_device_s", "CPU ms/device/s"), ("sim_cpu_pct", "sims CPU %"),
        ("publish_lag_mean_ms", "publish lag ms"),
    ]  # fmt: skip
    out = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(r[k]) for k, _ in cols) + " |")
    return "\n".join(out)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="100,250,500,750,1000")
    ap.add_argument("--warmup-s", type=float, default=5.0)
    ap.add_argument("--measure-s", type=float, default=20.0)
    ap.add_argument("--budget-s", type=float, default=540.0)
    a = ap.parse_args()
    t_start = time.monotonic()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="vpp-bench-") as tmp:
        nats = start_nats_server(Path(tmp) / "nats")
        try:
            for n in (int(x) for x in a.steps.split(",")):
                if time.monotonic() - t_start > a.budget_s:
                    print(f"budget of {a.budget_s:.0f} s spent; stopping before {n}")
                    break
                row = await measure(n, nats.url, Path(tmp), a.warmup_s, a.measure_s)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if row["cycle_p99_ms"] > 1000 or row["readings_per_s"] < 0.95 * n:
                    break
        finally:
            nats.stop()
    ok = [
        r for r in rows if r["cycle_p99_ms"] <= 1000 and r["readings_per_s"] >= 0.95 * r["devices"]
    ]
    result = {
        "bench": "gateway_sunspec",
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_at_end": os.getloadavg()},
        "criterion": "every device polled at 1 Hz (>= 95 % of readings) with p99 cycle < 1 s",
        "max_devices_meeting_criterion": max((r["devices"] for r in ok), default=0),
        "rows": rows,
    }  # fmt: skip
    out = ROOT / "bench" / "results" / f"gateway_sunspec-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print()
    print(table(rows))
    print(f"\nmax devices at 1 Hz with p99 < 1 s: {result['max_devices_meeting_criterion']}")
    print(f"saved {out}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so the nats-server and simulators started here are
    # stopped by their PIDs (a killed run once left its nats-server behind)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    asyncio.run(main())

"""Dispatch latency: API request → every setpoint applied by the gateway and acked.

Boots ``vpp playground`` with a fleet of ``--devices`` simulated SunSpec batteries (one
gateway), then sends ``--runs`` dispatch requests through the HTTP API, alternating the
plant target, and measures for each request:

* per setpoint, request → the gateway applied it (the ack's timestamp): p50, p99, max;
* request → the last ack committed in the read model (what an operator sees in the API).

Baseline in the same run: the same number of commands published straight to NATS by this
script (no API, store or dispatcher), request → applied.  Prints a table and writes
``bench/results/dispatch_latency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vpp.adapters.nats import codec, subjects  # noqa: E402
from vpp.adapters.nats.client import connect  # noqa: E402
from vpp.adapters.tls import client_context  # noqa: E402
from vpp.bootstrap.nats_client import settings_for  # noqa: E402
from vpp.bootstrap.playground import SIGNING_DIR  # noqa: E402
from vpp.bootstrap.signing import dispatcher_signer  # noqa: E402
from vpp.domain import SetpointCommand  # noqa: E402

FLEET = """name: bench
seed: 3
step_s: 1.0
addressing:
  sunspec: {{host: 127.0.0.1, base_port: 0}}
per_process: {{sunspec: 500}}
groups:
  - kind: battery
    id_prefix: bat
    count: {n}
    protocol: sunspec
    ratings: {{p_min_w: -5000, p_max_w: 5000, energy_wh: 20000}}
    params: {{soc0: 0.5}}
"""


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def gateways_of(db: Path) -> dict[str, str]:
    """Each DER's gateway, as the registry holds it."""
    con = sqlite3.connect(db, timeout=30)
    try:
        return dict(con.execute("select der_id, gateway_id from ders").fetchall())
    finally:
        con.close()


def acks_of(db: Path, dispatch_id: str) -> dict[str, datetime]:
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute(
            "select der_id, min(ts) from acks where dispatch_id = ? and outcome = 'applied' "
            "group by der_id",
            (dispatch_id,),
        ).fetchall()
    finally:
        con.close()
    return {d: datetime.fromisoformat(ts).replace(tzinfo=UTC) for d, ts in rows}


def wait_all(
    db: Path, dispatch_id: str, n: int, t_req: float, timeout: float
) -> tuple[dict, float]:
    deadline = time.monotonic() + timeout
    while True:
        got = acks_of(db, dispatch_id)
        if len(got) >= n:
            return got, time.monotonic() - t_req
        if time.monotonic() > deadline:
            return got, float("nan")
        time.sleep(0.05)


async def baseline(info: dict, der_ids: list[str], db: Path) -> list[float]:
    """Commands straight to NATS (signed with the playground's key, as the gateway
    insists); latency request → applied (ack ts)."""
    signer = dispatcher_signer(Path(info["run_dir"]) / SIGNING_DIR)
    # the playground's dispatcher identity (only it may publish commands), over its TLS
    client = Path(info["run_dir"]) / "security" / "nats" / "clients" / "dispatcher.yaml"
    nc = await connect(settings_for(None, client), "bench-baseline")
    js = nc.jetstream()
    dispatch_id = f"base-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    seq = int(now.timestamp() * 1_000_000)
    futures = []
    gateway = gateways_of(db)
    for d in der_ids:
        cmd = SetpointCommand(
            f"{dispatch_id}-{d}",
            d,
            gateway[d],
            seq,
            1000.0,
            now,
            now + timedelta(seconds=30),
            dispatch_id,
        )
        subject, payload = subjects.command(gateway[d], d), codec.encode_command(cmd)
        headers = signer.sign(subject, payload) | {"Nats-Msg-Id": codec.command_msg_id(cmd)}
        futures.append(await js.publish_async(subject, payload, headers=headers))
    await asyncio.wait_for(asyncio.gather(*futures), 30)
    await nc.close()
    got, _ = wait_all(db, dispatch_id, len(der_ids), time.monotonic(), 60)
    return [(ts - now).total_seconds() for ts in got.values()]


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--poll-s", type=float, default=4.0)
    ap.add_argument("--gateways", type=int, default=1, help="gateways sharing the devices")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vpp-bench-dispatch-"))
    fleet = work / "fleet.yaml"
    fleet.write_text(FLEET.format(n=args.devices))
    info_file = work / "info.json"
    log = (work / "playground.log").open("wb")
    pg = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vpp",
            "playground",
            "--fleet",
            str(fleet),
            "--api-port",
            "0",
            "--data-dir",
            str(work / "run"),
            "--info-file",
            str(info_file),
            "--poll-s",
            str(args.poll_s),
            "--gateways",
            str(args.gateways),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    results: dict[str, object] = {
        "devices": args.devices,
        "gateways": args.gateways,
        "poll_s": args.poll_s,
        "runs": [],
    }
    curves: dict[str, list[float]] = {}  # per-setpoint latencies, for the plot
    try:
        while not info_file.exists():
            if pg.poll() is not None:
                raise SystemExit((work / "playground.log").read_text()[-3000:])
            time.sleep(0.5)
        info = json.loads(info_file.read_text())
        db = Path(info["db_url"].removeprefix("sqlite:///"))
        api = httpx.Client(
            base_url=info["api_url"],
            timeout=30,
            headers={"Authorization": f"Bearer {info['api_key']}"},
            verify=client_context(info["ca_file"]) if info.get("ca_file") else True,
        )
        t_wait = time.monotonic()
        while True:
            env = api.get("/v1/plants/demo-all").json()["envelope"]
            n_av = len(env["members_available"])
            if n_av >= args.devices:
                break
            if time.monotonic() - t_wait > 300:
                raise SystemExit(f"only {n_av} of {args.devices} devices report after 300 s")
            print(f"  waiting for telemetry: {n_av}/{args.devices} devices", file=sys.stderr)
            time.sleep(3)
        der_ids = sorted(env["members_available"])
        base = asyncio.run(baseline(info, der_ids, db))
        curves["baseline: NATS -> gateway"] = base
        results["baseline"] = {
            "p50_s": statistics.median(base),
            "p99_s": pct(base, 0.99),
            "max_s": max(base),
            "n": len(base),
        }
        rows = []
        for run in range(args.runs):
            time.sleep(3)
            target_kw = (1 if run % 2 == 0 else -1) * 0.4 * 5 * args.devices
            start = datetime.now(UTC).replace(microsecond=0)
            t_req_wall = datetime.now(UTC)
            t_req = time.monotonic()
            r = api.post(
                "/v1/plants/demo-all/dispatches",
                headers={"Idempotency-Key": f"b{run}-{uuid.uuid4()}"},
                json={
                    "mode": "absolute",
                    "intervals": [
                        {
                            "start": start.isoformat().replace("+00:00", "Z"),
                            "duration": "PT2M",
                            "p_kw": target_kw,
                        }
                    ],
                },
            )
            r.raise_for_status()
            did = r.json()["dispatch_id"]
            got, all_s = wait_all(db, did, len(der_ids), t_req, 120)
            lat = [(ts - t_req_wall).total_seconds() for ts in got.values()]
            curves[f"API -> gateway, run {run}"] = lat
            rows.append(
                {
                    "run": run,
                    "target_kw": target_kw,
                    "setpoints": len(got),
                    "lost": len(der_ids) - len(got),  # never applied: the run failed
                    "p50_s": statistics.median(lat),
                    "p99_s": pct(lat, 0.99),
                    "max_s": max(lat),
                    "all_acked_in_read_model_s": all_s,
                }
            )
            print(f"  run {run}: {rows[-1]}", file=sys.stderr)
            api.delete(f"/v1/dispatches/{did}")
        results["runs"] = rows
    finally:
        pg.send_signal(signal.SIGINT)
        try:
            pg.wait(90)
        except subprocess.TimeoutExpired:
            pg.kill()
        log.close()
    b = results["baseline"]
    head = ("case", "setpoints", "p50 s", "p99 s", "max s", "all in DB s")
    print(f"\n{head[0]:<28} {head[1]:>9} {head[2]:>7} {head[3]:>7} {head[4]:>7} {head[5]:>11}")
    print(  # type: ignore[index]
        f"{'baseline: NATS -> gateway':<28} {b['n']:>9} {b['p50_s']:>7.2f} "
        f"{b['p99_s']:>7.2f} {b['max_s']:>7.2f}"
    )
    for r in results["runs"]:  # type: ignore[attr-defined]
        print(
            f"{'API -> gateway, run ' + str(r['run']):<28} {r['setpoints']:>9} {r['p50_s']:>7.2f} "
            f"{r['p99_s']:>7.2f} {r['max_s']:>7.2f} {r['all_acked_in_read_model_s']:>11.2f}"
            + (f"  FAILED: {r['lost']} never applied" if r["lost"] else "")
        )
    name = "dispatch_latency" + ("" if args.gateways == 1 else f"_{args.gateways}gw")
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "machine": platform.node(), **results},
            indent=2,
            default=str,
        )
    )
    print(f"written {out}")
    title = f"{args.devices:,} simulated SunSpec batteries, {args.gateways} gateway(s)"
    print(f"plotted {plot(curves, ROOT / 'bench' / 'results' / f'{name}.png', title)}")
    lost = [r for r in results["runs"] if r["lost"]]  # type: ignore[attr-defined]
    if lost:
        print(f"FAILED: setpoints never applied in runs {[r['run'] for r in lost]}")
        raise SystemExit(1)


def plot(curves: dict[str, list[float]], out: Path, title: str) -> Path:
    """Share of the setpoints applied vs. seconds since the request, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, lat in curves.items():
        xs = sorted(lat)
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.step(xs, ys, where="post", label=name, linestyle="--" if "baseline" in name else "-")
    ax.axvline(2.0, color="grey", linewidth=0.8)
    ax.text(1.97, 0.97, "goal: p99 ≤ 2 s", color="grey", ha="right", va="top")
    ax.set_xlim(0, max(2.2, 1.05 * max(max(v) for v in curves.values() if v)))
    ax.set_xlabel("seconds since the request")
    ax.set_ylabel("share of the setpoints applied")
    ax.set_title(f"Dispatch latency, {title}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    main()

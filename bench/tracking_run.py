"""One plant's run of the tracking benchmark: send the dispatch, sample, judge.

A plant's run is one absolute dispatch through the API (a step every ``step_s`` across
the plant's envelope, then a hold) while the plant's measured power (``envelope.p_now_kw``
of ``GET /v1/plants/{id}``) and the dispatch are read every ``period_s`` and every
member's latest reading every other sample.  After the end: the dispatch's final status,
each member's raw telemetry over the run, and the figures per interval and per member.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import httpx

from bench.tracking_io import (
    compact_ack,
    member_latest,
    member_telemetry,
    parse_ts,
    rfc3339,
    start_at,
    wait_final,
)
from bench.tracking_judge import RULE, Step, judge_interval, member_follow, schedule


def send_dispatch(
    api: httpx.Client, plant_id: str, start: datetime, steps: list[Step]
) -> httpx.Response:
    body = {
        "mode": "absolute",
        "intervals": [
            {
                "start": rfc3339(start + timedelta(seconds=s.offset_s)),
                "duration": f"PT{s.duration_s:g}S",
                "p_kw": s.target_kw,
            }
            for s in steps
        ],
    }
    return api.post(
        f"/v1/plants/{plant_id}/dispatches",
        headers={"Idempotency-Key": f"bench-tracking-{uuid.uuid4()}"},
        json=body,
    )


def sample(
    api: httpx.Client,
    pool: ThreadPoolExecutor,
    run: dict[str, Any],
    start: datetime,
    end_s: float,
    period_s: float,
) -> None:
    """Read plant, dispatch and (every other time) members every ``period_s`` until
    ``end_s`` after ``start``; samples and failed reads go into ``run``."""
    plant_id, dispatch_id, steps = run["plant_id"], run["dispatch_id"], run["steps"]
    k, next_at, last_print = 0, time.monotonic(), -1e9
    while (t := (datetime.now(start.tzinfo) - start).total_seconds()) <= end_s + 4:
        try:
            env = api.get(f"/v1/plants/{plant_id}").raise_for_status().json()["envelope"]
            d = api.get(f"/v1/dispatches/{dispatch_id}").raise_for_status().json()
        except httpx.HTTPError as exc:
            run["read_failures"].append({"t": t, "error": str(exc)})
        else:
            ts = (parse_ts(env["as_of"]) - start).total_seconds()
            run["samples"].append((ts, env["p_now_kw"]))
            run["envelopes"].append(
                {
                    "t": ts,
                    "p_min_kw": env["p_min_kw"],
                    "p_max_kw": env["p_max_kw"],
                    "unavailable": env["members_unavailable"],
                }
            )
            run["dispatch_trace"].append(
                {
                    "t": ts,
                    "status": d["status"],
                    "detail": d["detail"],
                    "planned_kw": [iv["p_kw_planned"] for iv in d["intervals"]],
                    "acks": d["commands"]["acks"],
                    "sent": d["commands"]["sent"],
                }
            )
            if t - last_print >= 20:
                last_print = t
                cur = next(
                    (s for s in steps if s["offset_s"] <= ts < s["offset_s"] + s["duration_s"]),
                    None,
                )
                target = f"{cur['target_kw']:7.1f}" if cur else "      -"
                print(
                    f"  {plant_id} t={ts:6.1f}s target {target} kW measured "
                    f"{env['p_now_kw']:7.1f} kW  {d['status']}",
                    flush=True,
                )
        if k % 2 == 0:
            run["member_samples"].append(
                {"t": t, "members": member_latest(api, pool, run["members"])}
            )
        k += 1
        next_at += period_s
        time.sleep(max(0.0, next_at - time.monotonic()))


def judge(run: dict[str, Any], ders: dict[str, dict[str, Any]], acks: list[dict[str, Any]]) -> None:
    """Figures per interval (plant) and per member and interval, into ``run``."""
    range_kw = run["envelope"]["p_max_kw"] - run["envelope"]["p_min_kw"]
    battery_plant = all(ders[m]["kind"] == "battery" for m in run["members"])
    start = parse_ts(run["start"])
    mine = sorted(
        ((parse_ts(a["ts"]) - start).total_seconds(), a)
        for a in acks
        if a["dispatch_id"] == run["dispatch_id"]
    )
    for s in run["steps"]:
        fig = judge_interval(
            run["samples"], s["offset_s"], s["duration_s"], s["target_kw"], range_kw, RULE
        )
        s["figures"] = {**asdict(fig), "verdict": fig.verdict(battery_plant)}
        s["members"] = {}
        for m in run["members"]:
            r = ders[m]["ratings"]
            tol = max(0.1, 0.05 * (r["p_max_kw"] - r["p_min_kw"]))  # the dispatcher's follow_tol
            m_acks = [(t, a["p_kw_applied"]) for t, a in mine if a["der_id"] == m]
            readings = [
                ((parse_ts(ts) - start).total_seconds(), p) for ts, p in run["telemetry"].get(m, [])
            ]
            f = member_follow(
                m, readings, m_acks, s["offset_s"], s["offset_s"] + s["duration_s"], tol
            )
            outcomes: dict[str, int] = {}
            for t, a in mine:
                if a["der_id"] == m and s["offset_s"] <= t < s["offset_s"] + s["duration_s"]:
                    key = a["outcome"] + (" clamped" if a["clamped"] else "")
                    outcomes[key] = outcomes.get(key, 0) + 1
            s["members"][m] = {**asdict(f), "acks": outcomes}
    run["acks"] = [compact_ack(t, a) for t, a in mine]
    run["battery_plant"] = battery_plant


def run_plant(
    api: httpx.Client,
    pool: ThreadPoolExecutor,
    plant_id: str,
    ders: dict[str, dict[str, Any]],
    step_s: float,
    hold_s: float | None,
    period_s: float = 2.0,
) -> dict[str, Any]:
    """The whole run of one plant (see the module); a refused dispatch or a run without
    samples is returned with ``failure`` set."""
    plant = api.get(f"/v1/plants/{plant_id}").raise_for_status().json()
    env = plant["envelope"]
    steps = schedule(env["p_min_kw"], env["p_max_kw"], step_s, hold_s)
    start = start_at(6.0)
    run: dict[str, Any] = {
        "plant_id": plant_id,
        "members": plant["members"],
        "envelope": env,
        "start": rfc3339(start),
        "steps": [asdict(s) for s in steps],
        "samples": [],
        "envelopes": [],
        "dispatch_trace": [],
        "member_samples": [],
        "read_failures": [],
        "failure": None,
        "dispatch_id": None,
    }
    print(
        f"{plant_id}: envelope {env['p_min_kw']:.1f} … {env['p_max_kw']:.1f} kW, now "
        f"{env['p_now_kw']:.1f} kW; targets {[s.target_kw for s in steps]} kW",
        flush=True,
    )
    r = send_dispatch(api, plant_id, start, steps)
    if r.status_code != 202:
        run["failure"] = f"dispatch refused: {r.status_code} {r.text[:500]}"
        return run
    run["dispatch_id"] = r.json()["dispatch_id"]
    run["accepted"] = {"shortfall_kw": r.json()["shortfall_kw"], "detail": r.json()["detail"]}
    end_s = steps[-1].offset_s + steps[-1].duration_s
    sample(api, pool, run, start, end_s, period_s)
    run["final"] = wait_final(api, run["dispatch_id"], 60)
    run["telemetry"] = {
        m: member_telemetry(
            api, m, start - timedelta(seconds=10), start + timedelta(seconds=end_s + 5)
        )
        for m in run["members"]
    }
    expected = (end_s + 6) / period_s
    if len(run["samples"]) < 0.8 * expected:
        run["failure"] = f"only {len(run['samples'])} of ~{expected:.0f} samples read"
    elif not run["final"]["final"]:
        run["failure"] = f"dispatch not final 60 s after its end: {run['final']['status']}"
    return run

"""Optimizer benchmark: our methods against HiGHS, measured in the same run.

    python bench/optimizer_bench.py                  # everything (about 25-30 minutes on 2 cores)
    python bench/optimizer_bench.py --only horizon   # the horizon planner only
    python bench/optimizer_bench.py --quick          # small sizes, a minute or two

Prints tables and writes ``bench/results/optimizer-<UTC time>.json`` (every instance) and,
for the horizon planner, ``bench/results/optimizer-horizon-<UTC time>.png``.

Single interval: merit order / equal incremental cost against HiGHS on the same LP.

Horizon: for each case (fleet, size, hard or penalised target) the decomposition
(``solve_horizon_decomposed``) and HiGHS (``solve_horizon_lp``) plan the same instance for
each of ``seeds`` seeds; the summary row gives the worst gap of the decomposition's plan
above HiGHS' objective, the worst proven gap (objective vs its own lower bound) and median /
max times.  Fleets too large for HiGHS (10k, 100k) are planned by the decomposition alone,
with its proven gap.  Every solve runs in a subprocess with a hard timeout (HiGHS does not
always honour its own limit) and reports its peak RSS; a timeout or failure is a row with
that status, never dropped.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from vpp.optimizer import SolveStatus, allocate, solve_horizon_decomposed, solve_horizon_lp
from vpp.optimizer.decomposition import internal_penalty
from vpp.optimizer.examples import (
    EUR_PER_KWH,
    battery_problem,
    mixed_problem,
    single_interval_instance,
)
from vpp.optimizer.horizon import ChpFleet, HorizonProblem
from vpp.optimizer.lp import LinearProgram, solve_highs

RESULTS = Path(__file__).with_name("results")


def single_lp(n: int, seed: int) -> LinearProgram:
    lo, hi, cost, _, target = single_interval_instance(n, seed=seed)
    lp = LinearProgram()
    x = lp.add_vars(n, lo / 1e3, hi / 1e3, cost * 1e3)
    lp.add_rows(1, np.zeros(n, np.int64), x, np.ones(n), target / 1e3, target / 1e3)
    return lp


def horizon_problem(spec: dict[str, Any]) -> HorizonProblem:
    hard = spec.get("hard", False)
    dev = {} if not hard else {"deviation_cost": None}
    if spec["case"] == "batteries":
        problem = battery_problem(spec["n"], steps=spec["t"], seed=spec["seed"], **dev)
        n_chp = spec.get("chp", 0)
        if not n_chp:
            return problem
        chp = ChpFleet(
            tuple(f"chp-{i:03d}" for i in range(n_chp)),
            p_max_w=np.full(n_chp, 50_000.0),
            min_stable_w=np.full(n_chp, 25_000.0),
            cost=np.full(n_chp, 0.10 * EUR_PER_KWH),
            start_cost=np.full(n_chp, 2.0),
            on0=np.zeros(n_chp, dtype=bool),
        )
        return replace(problem, chp=chp)
    return mixed_problem(
        scale=spec["scale"],
        steps=spec["t"],
        seed=spec["seed"],
        with_chp=spec.get("with_chp", False),
        battery_ramp_w=np.inf,
        **dev,
    )


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One solve (run in a child process)."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if spec["case"] == "single-linear":
        options = {} if spec.get("presolve", True) else {"presolve": "off"}
        sol = solve_highs(single_lp(spec["n"], spec["seed"]), options=options)
        out = {"objective": sol.objective, "status": sol.status}
    else:
        problem = horizon_problem(spec)
        t0 = time.perf_counter()
        if spec["method"] == "decomposition":
            plan = solve_horizon_decomposed(problem)
            out = {"proven_gap": plan.gap, "note": plan.notes[-1] if plan.notes else ""}
        else:
            opts: dict[str, float | int | str | bool] = (
                {"solver": "ipm", "run_crossover": "off"} if spec.get("ipm") else {}
            )
            plan = solve_horizon_lp(problem, options=opts)
            if plan.status is SolveStatus.INFEASIBLE:
                # a hard target the fleet cannot meet: compare on the penalised problem,
                # which is what the decomposition's objective and bound are about
                priced = replace(problem, deviation_cost=internal_penalty(problem))
                plan = solve_horizon_lp(priced, options=opts)
                out["note"] = "hard target infeasible; penalised optimum"
        out |= {
            "objective": plan.objective,
            "status": str(plan.status),
            "max_deviation_w": float(np.abs(plan.deviation_w).max()),
        }
    return out | {
        "seconds": time.perf_counter() - t0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def highs_baseline(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "objective": None, "status": f"timeout {timeout_s:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"seconds": None, "objective": None, "status": f"failed: {exc.stderr[-200:]}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(run: Callable[[], Any], repeats: int) -> tuple[float, Any, float]:
    """(median seconds, last result, peak MB of Python/numpy allocations)."""
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), result, peak


def row(case: str, n: int, t: int, method: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"case": case, "N": n, "T": t, "method": method}
    out.update(kw)
    print(json.dumps(out), file=sys.stderr, flush=True)  # progress, survives a kill
    return out


def bench_single(
    sizes: list[int], highs_sizes: dict[int, bool], timeout: float
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        lo, hi, cost, _, target = single_interval_instance(n, seed=1)
        quad = single_interval_instance(n, seed=1, quadratic=True)[3]
        reps = 5 if n <= 100_000 else 3
        secs, res, peak = measure(partial(allocate, lo, hi, target, cost_lin=cost), reps)
        ref = None
        if n in highs_sizes:
            presolve = highs_sizes[n]
            ref = highs_baseline(
                {"case": "single-linear", "n": n, "seed": 1, "presolve": presolve}, timeout
            )
            method = "highs" + ("" if presolve else " (presolve off)")
            rows.append(row("single-linear", n, 1, method, **_ref_fields(ref)))
        gap = _gap(res.objective, ref)
        rows.append(
            row(
                "single-linear",
                n,
                1,
                "merit order (numpy)",
                seconds=secs,
                objective=res.objective,
                gap_to_highs=gap,
                peak_mb=peak,
            )
        )
        secs, res, peak = measure(
            partial(allocate, lo, hi, target, cost_lin=cost, cost_quad=quad), reps
        )
        rows.append(
            row(
                "single-quadratic",
                n,
                1,
                "equal incremental cost (numpy)",
                seconds=secs,
                objective=res.objective,
                gap_to_highs=None,
                peak_mb=peak,
            )
        )
    return rows


def bench_horizon(cases: list[dict[str, Any]], seeds: int) -> list[dict[str, Any]]:
    """Per case and seed: the decomposition and (if the case says so) HiGHS."""
    rows = []
    for case in cases:
        for seed in range(seeds if case.get("highs", True) else case.get("seeds", 3)):
            spec = case | {"seed": seed, "t": 96}
            dec = highs_baseline(spec | {"method": "decomposition"}, case.get("timeout", 300))
            ref = None
            if case.get("highs", True):
                ref = highs_baseline(spec | {"method": "highs"}, case.get("timeout", 300))
            n = _fleet_size(spec)
            rows.append(
                row(
                    case["label"],
                    n,
                    96,
                    "decomposition",
                    seed=seed,
                    seconds=dec.get("seconds"),
                    objective=dec.get("objective"),
                    status=dec.get("status"),
                    proven_gap=dec.get("proven_gap"),
                    gap_to_highs=_gap(dec.get("objective"), ref),
                    highs_seconds=None if ref is None else ref.get("seconds"),
                    highs_objective=None if ref is None else ref.get("objective"),
                    highs_status=None if ref is None else ref.get("status"),
                    peak_mb=dec.get("peak_mb"),
                    highs_peak_mb=None if ref is None else ref.get("peak_mb"),
                    note=dec.get("note"),
                )
            )
    return rows


def _fleet_size(spec: dict[str, Any]) -> int:
    return len(horizon_problem(spec).der_ids)


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per case: seeds, worst gaps, median / max times, failures."""
    out = []
    for label in dict.fromkeys(r["case"] for r in rows):
        mine = [r for r in rows if r["case"] == label]
        ok = [r for r in mine if r.get("objective") is not None]
        to_highs = [r["gap_to_highs"] for r in ok if r.get("gap_to_highs") is not None]
        proven = [r["proven_gap"] for r in ok if r.get("proven_gap") is not None]
        dec_s = [r["seconds"] for r in ok if r.get("seconds") is not None]
        hi_s = [r["highs_seconds"] for r in mine if r.get("highs_seconds") is not None]
        out.append(
            {
                "case": label,
                "N": mine[0]["N"],
                "seeds": len(mine),
                "failed": len(mine) - len(ok),
                "highs_failed": sum(
                    1 for r in mine if r.get("highs_status") and r.get("highs_objective") is None
                ),
                "worst_gap_to_highs": max(to_highs) if to_highs else None,
                "worst_proven_gap": max(proven) if proven else None,
                "dec_median_s": statistics.median(dec_s) if dec_s else None,
                "dec_max_s": max(dec_s) if dec_s else None,
                "highs_median_s": statistics.median(hi_s) if hi_s else None,
                "highs_max_s": max(hi_s) if hi_s else None,
                "dec_peak_mb": max((r.get("peak_mb") or 0) for r in mine),
                "statuses": dict(Counter(str(r.get("status")) for r in mine)),
            }
        )
    return out


def print_summary(summary: list[dict[str, Any]]) -> str:
    head = (
        f"{'case':<34} {'N':>7} {'seeds':>5} {'worst gap vs HiGHS':>18} "
        f"{'worst proven gap':>16} {'dec s (med/max)':>16} {'HiGHS s (med/max)':>18} "
        f"{'dec MB':>7}  failures"
    )
    lines = [head, "-" * len(head)]
    for r in summary:
        dec = f"{fmt(r['dec_median_s'], '.2f')}/{fmt(r['dec_max_s'], '.2f')}"
        hi = f"{fmt(r['highs_median_s'], '.1f')}/{fmt(r['highs_max_s'], '.1f')}"
        lines.append(
            f"{r['case']:<34} {r['N']:>7} {r['seeds']:>5} "
            f"{fmt(r['worst_gap_to_highs'], '18.1e')} {fmt(r['worst_proven_gap'], '16.1e')} "
            f"{dec:>16} {hi:>18} {fmt(r['dec_peak_mb'], '7.0f')}  "
            f"{r['failed']} / HiGHS {r['highs_failed']}  {r['statuses']}"
        )
    text = "\n".join(lines)
    print(text)
    return text


def plot(summary: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bats = [
        r
        for r in summary
        if r["case"].startswith("batteries") and "hard" not in r["case"] and "CHP" not in r["case"]
    ]
    fig, ax = plt.subplots(figsize=(6, 4))
    n = [r["N"] for r in bats]
    ax.loglog(n, [r["dec_median_s"] for r in bats], "o-", label="decomposition (median)")
    hn = [r["N"] for r in bats if r["highs_median_s"]]
    ax.loglog(
        hn,
        [r["highs_median_s"] for r in bats if r["highs_median_s"]],
        "s--",
        label="HiGHS (1,000: interior point)",
    )
    ax.set_xlabel("batteries (x 96 steps)")
    ax.set_ylabel("seconds")
    ax.set_title("horizon planning, batteries")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _ref_fields(ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "seconds": ref.get("seconds"),
        "objective": ref.get("objective"),
        "status": ref.get("status"),
        "peak_mb": ref.get("peak_mb"),
    }


def _gap(objective: float | None, ref: dict[str, Any] | None) -> float | None:
    if objective is None or ref is None or ref.get("objective") is None:
        return None
    best = float(ref["objective"])
    return (objective - best) / max(abs(best), 1e-9)


def fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'case':<20} {'N':>9} {'T':>4} {'method':<32} {'seconds':>9} {'objective':>14} "
        f"{'gap vs HiGHS':>12} {'proven gap':>10} {'peak MB':>8}  note"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['case']:<20} {r['N']:>9} {r['T']:>4} {r['method']:<32} "
            f"{fmt(r.get('seconds'), '9.3f')} {fmt(r.get('objective'), '14.6g')} "
            f"{fmt(r.get('gap_to_highs'), '12.1e')} {fmt(r.get('proven_gap'), '10.1e')} "
            f"{fmt(r.get('peak_mb'), '8.0f')}  {r.get('status') or ''}"
        )
    text = "\n".join(lines)
    print(text)
    return text


HORIZON_CASES: list[dict[str, Any]] = [
    {"label": "batteries 50", "case": "batteries", "n": 50},
    {"label": "batteries 200", "case": "batteries", "n": 200},
    {"label": "batteries 200, hard target", "case": "batteries", "n": 200, "hard": True},
    {"label": "batteries 1000", "case": "batteries", "n": 1_000, "ipm": True, "timeout": 400},
    {"label": "mixed (bat+EV+load+PV) x1", "case": "mixed", "scale": 1},
    {"label": "mixed (bat+EV+load+PV) x4", "case": "mixed", "scale": 4},
    {"label": "mixed x4, hard target", "case": "mixed", "scale": 4, "hard": True},
    {"label": "mixed + CHP (MILP) x1", "case": "mixed", "scale": 1, "with_chp": True},
    {"label": "mixed + CHP (MILP) x2", "case": "mixed", "scale": 2, "with_chp": True},
    {
        "label": "batteries 10000 (no HiGHS)",
        "case": "batteries",
        "n": 10_000,
        "highs": False,
        "seeds": 10,
    },
    {
        "label": "batteries 10000, hard (no HiGHS)",
        "case": "batteries",
        "n": 10_000,
        "hard": True,
        "highs": False,
        "seeds": 5,
    },
    {
        "label": "batteries 10000 + 20 CHP (no HiGHS)",
        "case": "batteries",
        "n": 10_000,
        "chp": 20,
        "highs": False,
        "seeds": 3,
    },
    {
        "label": "batteries 100000 (no HiGHS)",
        "case": "batteries",
        "n": 100_000,
        "highs": False,
        "seeds": 3,
        "timeout": 600,
    },
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["single", "horizon"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    single: list[dict[str, Any]] = []
    horizon: list[dict[str, Any]] = []
    if args.quick:
        single = bench_single([1_000, 10_000], {1_000: True}, 60)
        horizon = bench_horizon(HORIZON_CASES[:1], 3)
    else:
        if args.only in (None, "single"):
            single = bench_single(
                [1_000, 10_000, 100_000, 1_000_000],
                {1_000: True, 10_000: True, 100_000: False},
                180,
            )
        if args.only in (None, "horizon"):
            horizon = bench_horizon(HORIZON_CASES, args.seeds)
    text = print_table(single) if single else ""
    summary = summarise(horizon) if horizon else []
    if summary:
        text += "\n\n" + print_summary(summary)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"optimizer-{stamp}.json"
    doc = {"created": stamp, "rows": single + horizon, "summary": summary, "table": text}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nsaved {path}")
    if summary:
        plot(summary, RESULTS / f"optimizer-horizon-{stamp}.png")
    failed = [r for r in summary if r["failed"]]
    if failed:
        print(f"FAILED: {len(failed)} case(s) lost a decomposition run", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

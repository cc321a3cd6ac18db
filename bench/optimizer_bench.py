"""Optimizer benchmark: our methods against HiGHS, measured in the same run.

    python bench/optimizer_bench.py            # full table (about 10-15 minutes on 2 cores)
    python bench/optimizer_bench.py --quick    # small sizes, a minute

Prints a table and writes ``bench/results/optimizer-<UTC time>.json``.  Columns: case, N
(DERs), T (steps), method, seconds (median of several runs), objective, gap to the HiGHS
optimum of the same instance where HiGHS finished, the method's own proven gap (horizon
decomposition), peak memory.  HiGHS runs in a subprocess with a hard timeout (it does not
always honour its own time limit) and reports its peak RSS; our methods report the peak of
Python/numpy allocations (tracemalloc) in an extra run.
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
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from vpp.optimizer import allocate, solve_horizon_decomposed, solve_horizon_lp
from vpp.optimizer.examples import battery_problem, mixed_problem, single_interval_instance
from vpp.optimizer.horizon import HorizonProblem
from vpp.optimizer.lp import LinearProgram, solve_highs

RESULTS = Path(__file__).with_name("results")


def single_lp(n: int, seed: int) -> LinearProgram:
    lo, hi, cost, _, target = single_interval_instance(n, seed=seed)
    lp = LinearProgram()
    x = lp.add_vars(n, lo / 1e3, hi / 1e3, cost * 1e3)
    lp.add_rows(1, np.zeros(n, np.int64), x, np.ones(n), target / 1e3, target / 1e3)
    return lp


def horizon_problem(spec: dict[str, Any]) -> HorizonProblem:
    if spec["case"] == "horizon-batteries":
        return battery_problem(spec["n"], steps=spec["t"], seed=spec["seed"])
    return mixed_problem(scale=spec["scale"], steps=spec["t"], seed=spec["seed"])


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One HiGHS solve (run in a child process)."""
    t0 = time.perf_counter()
    if spec["case"] == "single-linear":
        options = {} if spec.get("presolve", True) else {"presolve": "off"}
        sol = solve_highs(single_lp(spec["n"], spec["seed"]), options=options)
        objective, status = sol.objective / 1e3 * 1e3, sol.status
    else:
        options: dict[str, float | int | str | bool] = (
            {"solver": "ipm", "run_crossover": "off"} if spec.get("ipm") else {}
        )
        plan = solve_horizon_lp(horizon_problem(spec), options=options)
        objective, status = plan.objective, str(plan.status)
    return {
        "seconds": time.perf_counter() - t0,
        "objective": objective,
        "status": status,
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


def bench_horizon(cases: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    rows = []
    for spec in cases:
        problem = horizon_problem(spec)
        n, t = len(problem.der_ids), problem.steps
        ref = None
        if spec.get("highs", True):
            ref = highs_baseline(spec, timeout)
            method = "highs (ipm, no crossover)" if spec.get("ipm") else "highs"
            rows.append(row(spec["case"], n, t, method, seed=spec["seed"], **_ref_fields(ref)))
        if spec["case"] == "horizon-batteries":
            secs, plan, peak = measure(lambda p=problem: solve_horizon_decomposed(p), 3)
            rows.append(
                row(
                    spec["case"],
                    n,
                    t,
                    "decomposition",
                    seconds=secs,
                    objective=plan.objective,
                    gap_to_highs=_gap(plan.objective, ref),
                    proven_gap=plan.gap,
                    max_deviation_w=float(np.abs(plan.deviation_w).max()),
                    peak_mb=peak,
                )
            )
    return rows


def _ref_fields(ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "seconds": ref.get("seconds"),
        "objective": ref.get("objective"),
        "status": ref.get("status"),
        "peak_mb": ref.get("peak_mb"),
    }


def _gap(objective: float, ref: dict[str, Any] | None) -> float | None:
    if ref is None or ref.get("objective") is None:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["single", "horizon"])
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    single: list[dict[str, Any]] = []
    horizon: list[dict[str, Any]] = []
    if args.quick:
        single = bench_single([1_000, 10_000], {1_000: True}, 60)
        horizon = bench_horizon([{"case": "horizon-batteries", "n": 100, "t": 96, "seed": 0}], 120)
    else:
        if args.only in (None, "single"):
            single = bench_single(
                [1_000, 10_000, 100_000, 1_000_000],
                {1_000: True, 10_000: True, 100_000: False},
                180,
            )
        if args.only in (None, "horizon"):
            horizon = bench_horizon(
                [
                    {"case": "horizon-batteries", "n": 100, "t": 96, "seed": 0},
                    {"case": "horizon-batteries", "n": 1_000, "t": 96, "seed": 0, "ipm": True},
                    {"case": "horizon-batteries", "n": 1_000, "t": 96, "seed": 3, "ipm": True},
                    {"case": "horizon-batteries", "n": 10_000, "t": 96, "seed": 0, "highs": False},
                    {"case": "horizon-mixed-milp", "scale": 1, "t": 96, "seed": 0},
                    {"case": "horizon-mixed-milp", "scale": 10, "t": 96, "seed": 0},
                ],
                300,
            )
    rows = single + horizon
    text = print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"optimizer-{stamp}.json"
    path.write_text(json.dumps({"created": stamp, "rows": rows, "table": text}, indent=2) + "\n")
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()

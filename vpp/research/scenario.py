"""Run a dispatch scenario over a day: plan, then step the physics, and tabulate it.

:func:`run_day` plans the horizon once (:func:`vpp.optimizer.solve_horizon`), then holds
each DER at its planned setpoint for each interval while the physics runs in substeps of
``physics_dt_s``.  With ``follow=True`` a dispatcher loop corrects every substep: it
re-splits the interval's target among the DERs with the single-interval allocation from
their latest readings (what the running service does between plans).  The result holds
pandas frames: per-DER power and state of charge, and the plant's target, plan, delivered
power, deviation and cost per interval.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from vpp.domain import Der, der_envelope
from vpp.optimizer import HorizonPlan, HorizonProblem, allocate, solve_horizon
from vpp.research.fleet import SimFleet

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScenarioResult:
    plan: HorizonPlan
    ders: pd.DataFrame  # time, der_id, kind, setpoint_w, p_w, soc
    plant: pd.DataFrame  # indexed by time: target_w, planned_w, delivered_w, deviation_w, ...

    @property
    def power(self) -> pd.DataFrame:
        """Per-DER delivered power, one column per DER."""
        return self.ders.pivot(index="time", columns="der_id", values="p_w")

    @property
    def soc(self) -> pd.DataFrame:
        return self.ders.pivot(index="time", columns="der_id", values="soc")

    def summary(self) -> dict[str, float]:
        p = self.plant
        hours = (p.index[1] - p.index[0]).total_seconds() / 3600.0 if len(p) > 1 else 0.0
        return {
            "planned_cost": float(self.plan.objective),
            "delivered_cost": float(p["cost"].sum()),
            "abs_deviation_kwh": float(p["deviation_w"].abs().sum() * hours / 1000.0),
            "max_abs_deviation_kw": float(p["deviation_w"].abs().max() / 1000.0),
        }


def print_progress(done: int, total: int) -> None:
    if done == total or done % max(1, total // 10) == 0:
        print(
            f"\rsimulating interval {done}/{total}",
            end="\n" if done == total else "",
            file=sys.stderr,
            flush=True,
        )


def run_day(
    fleet: SimFleet,
    problem: HorizonProblem,
    *,
    physics_dt_s: float = 60.0,
    follow: bool = False,
    method: str = "auto",
    progress: Progress | None = print_progress,
) -> ScenarioResult:
    """Plan ``problem`` for ``fleet`` and simulate it; see the module docstring."""
    plan = solve_horizon(problem, method=method)
    by_id = {m.der_id: m for m in fleet.models}
    index = {d: i for i, d in enumerate(plan.der_ids)}
    ders = fleet.ders
    step_s = problem.step.total_seconds()
    substeps = max(1, round(step_s / physics_dt_s))
    der_rows: list[dict[str, object]] = []
    plant_rows: list[dict[str, object]] = []
    for m in fleet.models:  # settle the meters at the start
        m.step(problem.start, 0.0)
    total = problem.steps
    for t in range(total):
        planned = {d: float(plan.p_w[i, t]) for d, i in index.items()}
        for der_id, p in planned.items():
            by_id[der_id].set_setpoint(p)
        energy, now = _simulate_interval(fleet, ders, problem, t, planned, substeps, follow)
        start = problem.start + t * problem.step
        der_rows.extend(_der_rows(fleet, start, now, planned, energy, step_s))
        plant_rows.append(_plant_row(problem, plan, t, sum(energy.values()) / step_s))
        if progress is not None:
            progress(t + 1, total)
    der_frame = pd.DataFrame(der_rows)
    plant = pd.DataFrame(plant_rows).set_index("time")
    return ScenarioResult(plan, der_frame, plant)


def _simulate_interval(
    fleet: SimFleet,
    ders: list[Der],
    problem: HorizonProblem,
    t: int,
    planned: dict[str, float],
    substeps: int,
    follow: bool,
) -> tuple[dict[str, float], datetime]:
    """Step the physics over interval ``t``: the energy (W·s) of every DER, and the time
    at the end of the interval."""
    dt_s = problem.step.total_seconds() / substeps
    energy = dict.fromkeys((m.der_id for m in fleet.models), 0.0)
    now = problem.start
    for k in range(substeps):
        now = problem.start + t * problem.step + timedelta(seconds=(k + 1) * dt_s)
        if follow and k > 0:
            _follow(fleet, ders, now, float(problem.target_w[t]), planned)
        for m in fleet.models:
            m.step(now, dt_s)
            energy[m.der_id] += m.p_w * dt_s
    return energy, now


def _der_rows(
    fleet: SimFleet,
    start: datetime,
    now: datetime,
    planned: dict[str, float],
    energy: dict[str, float],
    step_s: float,
) -> list[dict[str, object]]:
    """One row per DER for the interval starting at ``start``: setpoint, mean power, SoC."""
    rows: list[dict[str, object]] = []
    for m in fleet.models:
        reading = m.reading(now)
        rows.append(
            {
                "time": start,
                "der_id": m.der_id,
                "kind": str(m.kind),
                "setpoint_w": planned.get(m.der_id, np.nan),
                "p_w": energy[m.der_id] / step_s,
                "soc": reading.soc if reading.soc is not None else np.nan,
            }
        )
    return rows


def _plant_row(
    problem: HorizonProblem, plan: HorizonPlan, t: int, delivered: float
) -> dict[str, object]:
    """The plant's target, plan, delivered power, deviation and cost over interval ``t``."""
    penalty = problem.deviation_cost or 0.0
    target = float(problem.target_w[t])
    dev = delivered - target
    hours = problem.step.total_seconds() / 3600.0
    return {
        "time": problem.start + t * problem.step,
        "target_w": target,
        "planned_w": float(plan.p_w[:, t].sum()),
        "delivered_w": delivered,
        "deviation_w": dev,
        "price": float(problem.price[t]),
        "cost": (-problem.price[t] * delivered + penalty * abs(dev)) * hours,
    }


def _follow(
    fleet: SimFleet,
    ders: list[Der],
    now: datetime,
    target_w: float,
    planned: dict[str, float],
) -> None:
    """Real-time correction: spread the plant's miss over the DERs' current envelopes,
    in proportion to their room, around their planned setpoints."""
    models = [m for m in fleet.models if m.der_id in planned]
    readings = {m.der_id: m.reading(now) for m in fleet.models}
    miss = target_w - sum(r.p_w for r in readings.values())
    lo, hi, ids = [], [], []
    by_id = {d.der_id: d for d in ders}
    for m in models:
        env = der_envelope(by_id[m.der_id], readings[m.der_id], now)
        if env is None:
            continue
        base = m.setpoint_w if m.setpoint_w is not None else planned[m.der_id]
        lo.append(min(0.0, env.p_min_w - base))
        hi.append(max(0.0, env.p_max_w - base))
        ids.append(m)
    if not ids:
        return
    lo_a, hi_a = np.array(lo), np.array(hi)
    room = np.maximum(hi_a - lo_a, 1.0)
    result = allocate(lo_a, hi_a, float(np.clip(miss, lo_a.sum(), hi_a.sum())), cost_quad=1 / room)
    for m, delta in zip(ids, result.p_w, strict=True):
        base = m.setpoint_w if m.setpoint_w is not None else planned[m.der_id]
        m.set_setpoint(base + float(delta))

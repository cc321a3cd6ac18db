"""The researcher's toolkit: simulated fleets in-process, day scenarios, frames and plots.

    from vpp.research import mixed_fleet, horizon_problem, run_day, plot_day
    fleet = mixed_fleet(start, batteries=10, evs=6, pv=6)
    problem = horizon_problem(fleet, start, timedelta(minutes=15), target_w, price)
    result = run_day(fleet, problem)          # result.plant, result.ders (pandas)
    plot_day(result)

The physics is :mod:`simulators.physics` (the same models the protocol simulators serve);
the optimizer is :mod:`vpp.optimizer`; canonical profiles come from
:mod:`vpp.optimizer.examples`.
"""

from __future__ import annotations

from vpp.research.fleet import SimFleet, horizon_problem, mixed_fleet
from vpp.research.plots import plot_day, plot_scaling
from vpp.research.scenario import ScenarioResult, print_progress, run_day

__all__ = [
    "ScenarioResult",
    "SimFleet",
    "horizon_problem",
    "mixed_fleet",
    "plot_day",
    "plot_scaling",
    "print_progress",
    "run_day",
]

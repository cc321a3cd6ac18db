"""Dispatch optimisation: plant targets -> one setpoint per DER.  Depends on vpp.domain only.

Single interval (the dispatcher, every few seconds)::

    result = allocate_fleet(ders, readings, now, target_w)       # FleetAllocation
    commands = allocation_commands(result, ders_by_id, valid_from=now,
                                   valid_for=timedelta(seconds=30), seq_of=next_seq)

Horizon (re-planning every few minutes, notebooks)::

    plan = solve_horizon(problem)                                 # HorizonPlan
    commands = plan_commands(plan, ders_by_id, seq_of=next_seq, dispatch_id=...)

Infeasible targets never raise: the status says so and ``binding`` says by how much.
"""

from __future__ import annotations

from vpp.optimizer.allocation import Allocation, allocate
from vpp.optimizer.commands import allocation_commands, command_id, plan_commands
from vpp.optimizer.decomposition import solve_horizon_decomposed
from vpp.optimizer.fleet_allocation import DEFAULT_COSTS, DerCost, FleetAllocation, allocate_fleet
from vpp.optimizer.fleets import ChargeWindow, battery_fleet, concat_storage, window_fleet
from vpp.optimizer.horizon import ChpFleet, CurtailableFleet, HorizonProblem, StorageFleet
from vpp.optimizer.horizon_lp import solve_horizon_lp
from vpp.optimizer.plan import HorizonPlan
from vpp.optimizer.solve import solve_horizon
from vpp.optimizer.status import Binding, SolveStatus

__all__ = [
    "DEFAULT_COSTS",
    "Allocation",
    "Binding",
    "ChargeWindow",
    "ChpFleet",
    "CurtailableFleet",
    "DerCost",
    "FleetAllocation",
    "HorizonPlan",
    "HorizonProblem",
    "SolveStatus",
    "StorageFleet",
    "allocate",
    "allocate_fleet",
    "allocation_commands",
    "battery_fleet",
    "command_id",
    "concat_storage",
    "plan_commands",
    "solve_horizon",
    "solve_horizon_decomposed",
    "solve_horizon_lp",
    "window_fleet",
]

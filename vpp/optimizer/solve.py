"""One entry point for horizon planning that picks the method by the problem's shape."""

from __future__ import annotations

from vpp.optimizer.decomposition import solve_horizon_decomposed
from vpp.optimizer.horizon import HorizonProblem
from vpp.optimizer.horizon_lp import solve_horizon_lp
from vpp.optimizer.plan import HorizonPlan

#: Up to this many device-steps HiGHS solves the whole LP in seconds (FACTS.md).
EXACT_LIMIT = 200 * 96


def solve_horizon(
    problem: HorizonProblem,
    *,
    method: str = "auto",
    time_limit_s: float | None = None,
    rel_gap: float = 1e-3,
) -> HorizonPlan:
    """``method``: ``"highs"`` (exact LP/MILP), ``"decomposition"`` (large convex fleets) or
    ``"auto"``: HiGHS for CHP on/off and small fleets, the decomposition otherwise."""
    size = len(problem.der_ids) * problem.steps
    has_chp = problem.chp is not None and problem.chp.size > 0
    if method == "highs" or (method == "auto" and (has_chp or size <= EXACT_LIMIT)):
        return solve_horizon_lp(problem, time_limit_s=time_limit_s)
    return solve_horizon_decomposed(problem, rel_gap=rel_gap, time_limit_s=time_limit_s)

"""One entry point for horizon planning that picks the method by the problem's shape."""

from __future__ import annotations

from vpp.optimizer.decomposition import solve_horizon_decomposed
from vpp.optimizer.horizon import HorizonProblem
from vpp.optimizer.horizon_lp import solve_horizon_lp
from vpp.optimizer.plan import HorizonPlan

#: Up to this many device-steps HiGHS solves the whole LP in about a second (FACTS.md:
#: 100 batteries x 96 steps 0.5-4 s); above it the decomposition answers first.
EXACT_LIMIT = 50 * 96
#: When the decomposition cannot close its gap, HiGHS is still tried up to this size.
FALLBACK_LIMIT = 1_000 * 96


def solve_horizon(
    problem: HorizonProblem,
    *,
    method: str = "auto",
    time_limit_s: float | None = None,
    rel_gap: float = 1e-4,
) -> HorizonPlan:
    """``method``: ``"highs"`` (exact LP/MILP), ``"decomposition"`` (storage and PV fleets of
    any size, with a proven gap; CHP on/off as a small MILP) or ``"auto"``: HiGHS for ramp
    limits that can bind (the decomposition refuses them: its bound has no ramp state),
    for fleets up to ``EXACT_LIMIT`` device-steps and, with CHP, up to ``FALLBACK_LIMIT``
    (the small MILP is then hardly smaller than HiGHS' whole one); otherwise the
    decomposition, and HiGHS
    after all when its proven gap stays above ``rel_gap`` (with CHP: at least the MILP's
    ``mip_rel_gap``) and the fleet is not larger than ``FALLBACK_LIMIT``.  Every plan
    carries ``lower_bound``."""
    size = len(problem.der_ids) * problem.steps
    has_chp = problem.chp is not None and problem.chp.size > 0
    if has_chp:
        rel_gap = max(rel_gap, problem.mip_rel_gap)
    ramps = problem.storage is not None and problem.storage.ramp_can_bind()
    small = size <= (FALLBACK_LIMIT if has_chp else EXACT_LIMIT)
    if method == "highs" or (method == "auto" and (ramps or small)):
        return solve_horizon_lp(problem, time_limit_s=time_limit_s)
    plan = solve_horizon_decomposed(problem, rel_gap=rel_gap, time_limit_s=time_limit_s)
    if method == "auto" and (plan.gap is None or plan.gap > rel_gap) and size <= FALLBACK_LIMIT:
        exact = solve_horizon_lp(problem, time_limit_s=time_limit_s)
        if exact.status.has_plan and not plan.status.has_plan:
            return exact
        if exact.status.has_plan and exact.objective <= plan.objective:
            return exact
    return plan

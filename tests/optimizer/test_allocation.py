"""Single-interval allocation: exact against HiGHS, limits, infeasible targets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from vpp.optimizer import SolveStatus, allocate
from vpp.optimizer.examples import single_interval_instance


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    lo = -rng.uniform(0, 10, n) * (rng.random(n) < 0.6)
    hi = lo + rng.uniform(0, 10, n) * (rng.random(n) < 0.9)
    # few distinct costs make ties, the hard case for a merit order
    cost = np.round(rng.normal(size=n), draw(st.integers(0, 2)))
    frac = draw(st.floats(-0.2, 1.2))
    target = float(lo.sum() + frac * (hi.sum() - lo.sum()))
    return lo, hi, cost, np.array([target])


@settings(max_examples=150, deadline=None)
@given(instances())
def test_linear_matches_highs(inst: tuple[np.ndarray, ...]) -> None:
    lo, hi, cost, (target,) = inst
    result = allocate(lo, hi, target, cost_lin=cost)
    assert np.all(result.p_w >= lo - 1e-9) and np.all(result.p_w <= hi + 1e-9)
    # feasible up to the allocator's documented relative tolerance (1e-9 of the sums)
    tol = 1e-9 * max(1.0, abs(lo.sum()), abs(hi.sum()))
    if lo.sum() - tol <= target <= hi.sum() + tol:
        ref = linprog(
            cost, A_eq=np.ones((1, lo.size)), b_eq=[target], bounds=list(zip(lo, hi, strict=True))
        )
        assert ref.status == 0
        assert result.status is SolveStatus.OPTIMAL
        assert abs(result.total_w - target) <= 1e-7 * max(1.0, abs(target))
        assert result.objective <= ref.fun + 1e-7 * max(1.0, abs(ref.fun))
    else:
        assert result.status is SolveStatus.INFEASIBLE
        assert result.binding is not None
        assert abs(result.shortfall_w - (target - result.total_w)) < 1e-9


@settings(max_examples=100, deadline=None)
@given(instances(), st.integers(0, 2**31))
def test_quadratic_is_kkt_optimal(inst: tuple[np.ndarray, ...], seed: int) -> None:
    """Equal incremental cost: every unit strictly inside its limits runs at marginal
    cost λ; units at a limit have a marginal cost on the right side of λ."""
    lo, hi, cost, (target,) = inst
    rng = np.random.default_rng(seed)
    quad = rng.uniform(0.01, 1.0, lo.size) * (rng.random(lo.size) < 0.7)
    ref_p = rng.uniform(lo, hi)
    result = allocate(lo, hi, target, cost_lin=cost, cost_quad=quad, p_ref_w=ref_p)
    if result.status is not SolveStatus.OPTIMAL:
        return
    p, lam = result.p_w, result.marginal_cost
    assert abs(p.sum() - target) <= 1e-7 * max(1.0, abs(target))
    marginal = cost + 2 * quad * (p - ref_p)
    tol = 1e-6 * max(1.0, abs(lam))
    inside = (p > lo + 1e-7) & (p < hi - 1e-7)
    assert np.all(np.abs(marginal[inside] - lam) <= tol)
    assert np.all(marginal[(p <= lo + 1e-7) & (hi > lo)] >= lam - tol)
    assert np.all(marginal[(p >= hi - 1e-7) & (hi > lo)] <= lam + tol)


def test_infeasible_target_reports_shortfall() -> None:
    lo, hi = np.array([0.0, -5.0]), np.array([10.0, 5.0])
    too_high = allocate(lo, hi, 20.0)
    assert too_high.status is SolveStatus.INFEASIBLE
    assert too_high.shortfall_w == 5.0
    np.testing.assert_allclose(too_high.p_w, hi)
    too_low = allocate(lo, hi, -8.0)
    assert too_low.shortfall_w == -3.0
    np.testing.assert_allclose(too_low.p_w, lo)


def test_merit_order_on_the_canonical_instance() -> None:
    lo, hi, cost, _, target = single_interval_instance(2_000, seed=3)
    result = allocate(lo, hi, target, cost_lin=cost)
    # cheaper units are never below a more expensive unit's dispatch share
    share = (result.p_w - lo) / np.where(hi > lo, hi - lo, 1.0)
    order = np.argsort(cost)
    cheaper_full = share[order]
    first_partial = np.argmax(cheaper_full < 1 - 1e-9)
    assert np.all(
        cheaper_full[first_partial + 1 :]
        <= 1e-9 + (cost[order][first_partial + 1 :] == cost[order][first_partial])
    )
    ref = linprog(
        cost, A_eq=np.ones((1, lo.size)), b_eq=[target], bounds=list(zip(lo, hi, strict=True))
    )
    assert abs(result.objective - ref.fun) <= 1e-7 * abs(ref.fun)


@settings(max_examples=100, deadline=None)
@given(instances(), st.integers(0, 2**31))
def test_all_quadratic_newton_path_equals_the_sorting_path(
    inst: tuple[np.ndarray, ...], seed: int
) -> None:
    """With every unit quadratic the allocation takes a Newton path on λ; it must give
    the same optimum as the exact breakpoint sort."""
    from vpp.optimizer.allocation import _clear

    lo, hi, cost, (target,) = inst
    rng = np.random.default_rng(seed)
    quad = rng.uniform(0.01, 1.0, lo.size)
    ref_p = rng.uniform(lo, hi)
    result = allocate(lo, hi, target, cost_lin=cost, cost_quad=quad, p_ref_w=ref_p)
    if result.status is not SolveStatus.OPTIMAL:
        return
    p_sort, _ = _clear(lo, hi, cost, quad, ref_p, target)
    np.testing.assert_allclose(result.p_w, p_sort, atol=1e-6 * max(1.0, np.abs(hi).max()))

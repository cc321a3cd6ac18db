"""Single-interval allocation: split a plant target among DERs at least cost, exactly.

The problem, for ``N`` DERs with box limits ``lo <= p <= hi``::

    minimise   sum_i  c_i p_i + a_i (p_i - r_i)^2        (a_i >= 0)
    subject to sum_i  p_i = target

Its optimality (KKT) conditions say every DER runs at one common marginal cost ``λ``:
a quadratic unit at ``clip(r_i + (λ - c_i) / 2a_i, lo_i, hi_i)``, a linear unit at ``hi``
when ``c_i < λ``, at ``lo`` when ``c_i > λ`` and anywhere in between when ``c_i = λ``.
The plant's total ``F(λ)`` is piecewise linear and non-decreasing with jumps at the linear
units' costs, so sorting the ``≤ 2N`` breakpoints and one cumulative sum give ``F`` at every
breakpoint; ``np.searchsorted`` finds where it crosses the target.  With only linear costs
this is exactly the merit order (sort and fill); with only quadratic ones it is the equal
incremental cost rule — both in ``O(N log N)`` numpy, no iteration, no solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vpp.optimizer.status import Binding, SolveStatus

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Allocation:
    """Result of :func:`allocate`: one power per DER and the plant's clearing cost ``λ``."""

    status: SolveStatus
    p_w: FloatArray
    target_w: float
    marginal_cost: float  # λ: cost of one more W·h of plant injection
    objective: float
    binding: Binding | None = None

    @property
    def total_w(self) -> float:
        return float(self.p_w.sum())

    @property
    def shortfall_w(self) -> float:
        """Target minus delivered (0 when the target is met)."""
        return 0.0 if self.binding is None else self.binding.slack_w


def allocation_cost(
    p_w: FloatArray,
    cost_lin: FloatArray,
    cost_quad: FloatArray,
    p_ref_w: FloatArray,
) -> float:
    return float(cost_lin @ p_w + cost_quad @ np.square(p_w - p_ref_w))


def allocate(
    lo_w: FloatArray,
    hi_w: FloatArray,
    target_w: float,
    *,
    cost_lin: FloatArray | None = None,
    cost_quad: FloatArray | None = None,
    p_ref_w: FloatArray | None = None,
    compute_objective: bool = True,
) -> Allocation:
    """Exact least-cost split of ``target_w`` within ``[lo_w, hi_w]``.

    Costs are rates (currency per hour): ``cost_lin`` per W, ``cost_quad`` per W² around
    ``p_ref_w`` (default 0); ``compute_objective=False`` skips the objective (inner loops).
    An unreachable target gives status ``INFEASIBLE``, every DER
    at the limit nearest the target and a :class:`Binding` with the shortfall.
    """
    lo = np.asarray(lo_w, dtype=np.float64)
    hi = np.asarray(hi_w, dtype=np.float64)
    n = lo.shape[0]
    c = np.zeros(n) if cost_lin is None else np.asarray(cost_lin, dtype=np.float64)
    a = np.zeros(n) if cost_quad is None else np.asarray(cost_quad, dtype=np.float64)
    r = np.zeros(n) if p_ref_w is None else np.asarray(p_ref_w, dtype=np.float64)
    if np.any(a < 0) or np.any(lo > hi):
        return _error(n, target_w, "negative quadratic cost or lo > hi")
    lo_sum, hi_sum = float(lo.sum()), float(hi.sum())
    tol = 1e-9 * max(1.0, abs(lo_sum), abs(hi_sum))
    if n == 0 or target_w < lo_sum - tol or target_w > hi_sum + tol:
        p = lo.copy() if target_w < lo_sum else hi.copy()
        lam = float(c.min() if target_w < lo_sum else c.max()) if n else 0.0
        slack = target_w - float(p.sum())
        return Allocation(
            SolveStatus.INFEASIBLE,
            p,
            target_w,
            lam,
            allocation_cost(p, c, a, r),
            Binding("plant power limit", slack),
        )
    target = float(np.clip(target_w, lo_sum, hi_sum))
    solved = _newton_quadratic(lo, hi, c, a, r, target, tol) if bool(np.all(a > 0)) else None
    p, lam = solved if solved is not None else _clear(lo, hi, c, a, r, target)
    objective = allocation_cost(p, c, a, r) if compute_objective else float("nan")
    return Allocation(SolveStatus.OPTIMAL, p, target_w, lam, objective)


def _clear(
    lo: FloatArray, hi: FloatArray, c: FloatArray, a: FloatArray, r: FloatArray, target: float
) -> tuple[FloatArray, float]:
    quad = a > 0
    lin_idx = np.flatnonzero(~quad)
    q_idx = np.flatnonzero(quad)
    # marginal cost of a quadratic unit at power p: c + 2a (p - r)
    b_q = c[q_idx] - 2.0 * a[q_idx] * r[q_idx]
    two_a = 2.0 * a[q_idx]
    x = np.concatenate((c[lin_idx], b_q + two_a * lo[q_idx], b_q + two_a * hi[q_idx]))
    jump = np.concatenate((hi[lin_idx] - lo[lin_idx], np.zeros(2 * q_idx.size)))
    inv = 1.0 / two_a
    dslope = np.concatenate((np.zeros(lin_idx.size), inv, -inv))
    order = np.argsort(x)
    x, jump, dslope = x[order], jump[order], dslope[order]
    slope = np.cumsum(dslope)
    inc = jump[:-1] + slope[:-1] * np.diff(x)
    f_before = float(lo.sum()) + np.concatenate(([0.0], np.cumsum(inc)))
    f_after = f_before + jump
    k = min(int(np.searchsorted(f_after, target, side="left")), x.size - 1)
    # rank of every linear unit's event in the sorted order
    lin_rank = np.empty(lin_idx.size, dtype=np.int64)
    is_lin = order < lin_idx.size
    lin_rank[order[is_lin]] = np.flatnonzero(is_lin)
    p = lo.copy()
    if k > 0 and target < f_before[k] and slope[k - 1] > 0:
        lam = float(x[k - 1] + (target - f_after[k - 1]) / slope[k - 1])
        p[lin_idx] = np.where(lin_rank <= k - 1, hi[lin_idx], lo[lin_idx])
    else:
        lam = float(x[k])
        p[lin_idx] = np.where(lin_rank < k, hi[lin_idx], lo[lin_idx])
        marginal = lin_rank == k
        if marginal.any():
            partial = float(np.clip(target - f_before[k], 0.0, jump[k]))
            p[lin_idx[marginal]] += partial
    if q_idx.size:
        p[q_idx] = np.clip((lam - b_q) / two_a, lo[q_idx], hi[q_idx])
    return p, lam


def _newton_quadratic(
    lo: FloatArray,
    hi: FloatArray,
    c: FloatArray,
    a: FloatArray,
    r: FloatArray,
    target: float,
    tol: float,
    max_iter: int = 50,
) -> tuple[FloatArray, float] | None:
    """All units quadratic: Newton on λ over the piecewise-linear F(λ), kept inside a
    bracket (bisection when a step leaves it).  F is linear between breakpoints, so once
    the set of units inside their limits is right, one step lands exactly.  ``None`` when
    it does not settle (the sorting method then answers)."""
    b = c - 2.0 * a * r
    inv = 0.5 / a
    lam_lo = float((b + 2.0 * a * lo).min())
    lam_hi = float((b + 2.0 * a * hi).max())
    lam = float(np.clip(np.average(b + a * (lo + hi)), lam_lo, lam_hi))
    for _ in range(max_iter):
        raw = (lam - b) * inv
        p = np.clip(raw, lo, hi)
        miss = target - float(p.sum())
        inside = (raw > lo) & (raw < hi)
        if abs(miss) <= tol:
            # one last step on the (now right) linear piece lands on the target
            slope = float(inv[inside].sum())
            if slope > 0:
                lam += miss / slope
                p = np.clip((lam - b) * inv, lo, hi)
            return p, lam
        if miss > 0:
            lam_lo = lam
        else:
            lam_hi = lam
        slope = float(inv[inside].sum())
        step = lam + miss / slope if slope > 0 else 0.5 * (lam_lo + lam_hi)
        lam = step if lam_lo < step < lam_hi else 0.5 * (lam_lo + lam_hi)
    return None


def _error(n: int, target_w: float, why: str) -> Allocation:
    return Allocation(
        SolveStatus.ERROR, np.zeros(n), target_w, float("nan"), float("nan"), Binding(why, 0.0)
    )

"""A small sparse (MI)LP builder handed to HiGHS as one CSC matrix, no modelling layer.

Variables are added in blocks (``add_vars``), constraints as COO triplets (``add_rows``);
``solve_highs`` builds the column-wise matrix once and returns a :class:`LpSolution`
whose status is a value (HiGHS' model status), never an exception.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class LinearProgram:
    """Accumulates columns and rows; ``x`` indices are positions in the column vector."""

    cost: list[FloatArray] = field(default_factory=list)
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    integer: list[NDArray[np.bool_]] = field(default_factory=list)
    rows_i: list[IntArray] = field(default_factory=list)
    rows_j: list[IntArray] = field(default_factory=list)
    rows_v: list[FloatArray] = field(default_factory=list)
    row_lo: list[FloatArray] = field(default_factory=list)
    row_hi: list[FloatArray] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_vars(
        self,
        n: int,
        lower: FloatArray | float,
        upper: FloatArray | float,
        cost: FloatArray | float = 0.0,
        *,
        integer: bool = False,
    ) -> IntArray:
        """Add ``n`` columns; returns their indices."""
        self.cost.append(np.broadcast_to(np.asarray(cost, np.float64), (n,)).ravel())
        self.lower.append(np.broadcast_to(np.asarray(lower, np.float64), (n,)).ravel())
        self.upper.append(np.broadcast_to(np.asarray(upper, np.float64), (n,)).ravel())
        self.integer.append(np.full(n, integer))
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64)
        self.n_cols += n
        return idx

    def add_rows(
        self,
        n: int,
        row: IntArray,
        col: IntArray,
        val: FloatArray,
        lower: FloatArray | float,
        upper: FloatArray | float,
    ) -> IntArray:
        """Add ``n`` rows; ``row`` holds local row numbers ``0..n-1`` of each triplet."""
        self.rows_i.append(np.asarray(row, np.int64) + self.n_rows)
        self.rows_j.append(np.asarray(col, np.int64))
        self.rows_v.append(np.asarray(val, np.float64))
        self.row_lo.append(np.broadcast_to(np.asarray(lower, np.float64), (n,)).ravel())
        self.row_hi.append(np.broadcast_to(np.asarray(upper, np.float64), (n,)).ravel())
        idx = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        self.n_rows += n
        return idx


def fix_integers(lp: LinearProgram, x: FloatArray) -> LinearProgram:
    """A copy of ``lp`` with its integer columns fixed at ``x`` (rounded): an LP whose
    duals price the rest of the problem around a MILP solution."""
    integer = np.concatenate(lp.integer) if lp.integer else np.zeros(0, bool)
    lower, upper = np.concatenate(lp.lower), np.concatenate(lp.upper)
    fixed = np.round(x[integer])
    lower[integer], upper[integer] = fixed, fixed
    return LinearProgram(
        cost=list(lp.cost),
        lower=[lower],
        upper=[upper],
        integer=[np.zeros(lp.n_cols, bool)],
        rows_i=list(lp.rows_i),
        rows_j=list(lp.rows_j),
        rows_v=list(lp.rows_v),
        row_lo=list(lp.row_lo),
        row_hi=list(lp.row_hi),
        n_cols=lp.n_cols,
        n_rows=lp.n_rows,
    )


@dataclass(frozen=True, slots=True)
class LpSolution:
    status: str  # "optimal", "infeasible", "time_limit", "unbounded", "error"
    x: FloatArray
    row_dual: FloatArray
    objective: float
    mip_gap: float
    seconds: float
    has_solution: bool
    #: proven bound on the optimum: HiGHS' MIP dual bound, or the LP optimum (nan if none)
    dual_bound: float = float("nan")


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "time_limit",
    highspy.HighsModelStatus.kSolutionLimit: "time_limit",
    highspy.HighsModelStatus.kInterrupt: "time_limit",
}


def _matrix(lp: LinearProgram) -> sparse.csc_matrix:
    """The constraint matrix, column-wise, duplicates summed."""
    a = sparse.csc_matrix(
        (
            np.concatenate(lp.rows_v) if lp.rows_v else np.zeros(0),
            (
                np.concatenate(lp.rows_i) if lp.rows_i else np.zeros(0, np.int64),
                np.concatenate(lp.rows_j) if lp.rows_j else np.zeros(0, np.int64),
            ),
        ),
        shape=(lp.n_rows, lp.n_cols),
    )
    a.sum_duplicates()
    return a


def solve_highs(
    lp: LinearProgram,
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
    options: dict[str, float | int | str | bool] | None = None,
) -> LpSolution:
    """Solve with HiGHS.  HiGHS may overrun ``time_limit_s``: callers that must answer in
    time run this in a subprocess with their own timeout (see ``bench/``)."""
    t0 = time.perf_counter()
    n = lp.n_cols
    integer = np.concatenate(lp.integer) if lp.integer else np.zeros(0, bool)
    a = _matrix(lp)
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = lp.n_rows
    model.col_cost_ = np.concatenate(lp.cost)
    model.col_lower_ = np.concatenate(lp.lower)
    model.col_upper_ = np.concatenate(lp.upper)
    model.row_lower_ = np.concatenate(lp.row_lo) if lp.row_lo else np.zeros(0)
    model.row_upper_ = np.concatenate(lp.row_hi) if lp.row_hi else np.zeros(0)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr
    model.a_matrix_.index_ = a.indices
    model.a_matrix_.value_ = a.data
    if integer.any():
        model.integrality_ = [
            highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
            for f in integer
        ]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.passModel(model)
    h.run()
    status = _STATUS.get(h.getModelStatus(), "error")
    info = h.getInfo()
    has_solution = int(info.primal_solution_status) == 2 or status == "optimal"
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64) if has_solution else np.zeros(n)
    duals = np.asarray(sol.row_dual, dtype=np.float64) if sol.dual_valid else np.zeros(lp.n_rows)
    objective = float(info.objective_function_value) if has_solution else float("nan")
    gap = float(info.mip_gap) if integer.any() else 0.0
    bound = float(info.mip_dual_bound) if integer.any() else objective
    if not integer.any() and status != "optimal":
        bound = float("nan")
    return LpSolution(
        status, x, duals, objective, gap, time.perf_counter() - t0, has_solution, bound
    )

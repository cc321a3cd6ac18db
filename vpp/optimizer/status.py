"""Solve status shared by every optimizer: infeasible is a value, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"  # the target is met at least cost
    INFEASIBLE = "infeasible"  # the target cannot be met; the plan is the closest feasible one
    TIME_LIMIT = "time_limit"  # stopped before proving optimality; the plan is the best found
    ERROR = "error"  # the solver failed; no usable plan

    @property
    def has_plan(self) -> bool:
        return self is not SolveStatus.ERROR


@dataclass(frozen=True, slots=True)
class Binding:
    """A constraint that stops the plan from meeting its target, and by how much.

    ``slack_w`` is target minus what the fleet can deliver: positive when the fleet cannot
    inject enough, negative when it cannot absorb enough.  ``step`` is the interval index
    in a horizon plan (``None`` for a single interval).
    """

    constraint: str
    slack_w: float
    step: int | None = None

    def describe(self) -> str:
        where = "" if self.step is None else f" at step {self.step}"
        side = "short of" if self.slack_w > 0 else "above"
        return f"{self.constraint}{where}: fleet {side} target by {abs(self.slack_w):.1f} W"

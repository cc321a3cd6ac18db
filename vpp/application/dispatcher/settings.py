"""The dispatcher's settings: cycle, command lifetime, the controller's gains and tolerances."""

from __future__ import annotations

from dataclasses import dataclass, field

from vpp.domain.der import Der
from vpp.domain.tracking import DEFAULT_RULE, TrackingRule


@dataclass(frozen=True, slots=True)
class DispatcherSettings:
    cycle_s: float = 4.0
    command_ttl_s: float = 20.0  # a command outlives a few cycles, not a dead dispatcher
    deadband: float = 0.005  # resend when a setpoint moves more than this of the range …
    deadband_w: float = 10.0  # … and more than this
    gain: float = 0.4  # integral gain on the plant's measured error (per cycle)
    integral_limit: float = 0.25  # anti-windup: the integral within this share of the range
    follow_s: float = 2.5  # a member off its setpoint this long after it is not following
    follow_tol: float = 0.05  # … by more than this fraction of its power range (min 100 W)
    retry_pinned_s: float = 30.0  # a member held at its measured power is tried again after
    delivery_tol: float = 0.1  # completed: delivered within this of the deliverable energy
    stale_s: float = 15.0  # a member silent this long has dropped out (left out at once)
    plan_ahead: bool = True  # track a horizon plan (else merit order every cycle)
    replan_s: float = 300.0  # the horizon plan is made again this often (rolling)
    prepare_s: float = 1800.0  # members the plan moves ahead of an interval move this early
    tracking: TrackingRule = field(default=DEFAULT_RULE)

    def follow_tol_w(self, der: Der) -> float:
        """How far off its setpoint a member may be and still be following it."""
        return max(100.0, self.follow_tol * der.ratings.p_range_w)

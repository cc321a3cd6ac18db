"""Horizon plan -> setpoint commands with validity windows, ready for the dispatcher."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from vpp.domain import Der, DerKind, DerRatings, decide
from vpp.optimizer import plan_commands, solve_horizon_lp
from vpp.optimizer.examples import mixed_problem


def registry(der_ids: tuple[str, ...]) -> dict[str, Der]:
    """Ratings wide enough for every example DER (the plan stays within its own limits)."""
    out = {}
    for der_id in der_ids:
        kind = {
            "bat": DerKind.BATTERY,
            "ev": DerKind.EV_CHARGER,
            "load": DerKind.FLEXIBLE_LOAD,
            "pv": DerKind.PV,
            "chp": DerKind.CHP,
        }[der_id.split("-")[0]]
        ratings = {
            DerKind.BATTERY: DerRatings(-5_000, 5_000, energy_wh=10_000),
            DerKind.EV_CHARGER: DerRatings(-11_000, 0, energy_wh=60_000),
            DerKind.FLEXIBLE_LOAD: DerRatings(-2_000, 0),
            DerKind.PV: DerRatings(0, 30_000),
            DerKind.CHP: DerRatings(0, 50_000, min_stable_w=25_000),
        }[kind]
        out[der_id] = Der(der_id, kind, ratings, f"gw-{kind.value.replace('_', '-')}")
    return out


def test_commands_cover_the_plan() -> None:
    problem = mixed_problem(steps=24)
    plan = solve_horizon_lp(problem)
    ders = registry(plan.der_ids)
    counter = {d: 100 for d in plan.der_ids}
    cmds = plan_commands(plan, ders, seq_of=counter.__getitem__, dispatch_id="d-1")
    for i, der_id in enumerate(plan.der_ids):
        mine = [c for c in cmds if c.der_id == der_id]
        # windows tile the horizon in order, sequence numbers count up from the counter
        assert mine[0].valid_from == plan.start
        assert mine[-1].valid_until == plan.start + problem.steps * plan.step
        for a, b in pairwise(mine):
            assert a.valid_until == b.valid_from and b.seq == a.seq + 1
            assert a.p_w != b.p_w  # equal neighbours are merged
        assert mine[0].seq == 100
        for c in mine:
            first = int((c.valid_from - plan.start) / plan.step)
            last = int((c.valid_until - plan.start) / plan.step)
            np.testing.assert_allclose(plan.p_w[i, first:last], c.p_w, atol=1e-3)
            assert c.gateway_id == ders[der_id].gateway_id and c.dispatch_id == "d-1"
            decision = decide(c, ders[der_id], c.seq - 1, c.valid_from)
            assert decision.apply and not decision.clamped


def test_unmerged_gives_one_command_per_step() -> None:
    problem = mixed_problem(steps=12, with_chp=False)
    plan = solve_horizon_lp(problem)
    cmds = plan_commands(plan, registry(plan.der_ids), seq_of=lambda _: 0, merge_equal=False)
    assert len(cmds) == len(plan.der_ids) * problem.steps
    assert len({c.command_id for c in cmds}) == len(cmds)

"""Der + Reading -> setpoints for the dispatcher, and setpoints -> commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vpp.domain import Der, DerKind, DerRatings, Reading, decide
from vpp.optimizer import SolveStatus, allocate_fleet, allocation_commands

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def fleet() -> tuple[list[Der], dict[str, Reading]]:
    bat = DerRatings(-5_000, 5_000, energy_wh=10_000, soc_min=0.1, soc_max=0.9)
    ders = [
        Der("pv-1", DerKind.PV, DerRatings(0, 10_000), "gw-1"),
        Der("bat-1", DerKind.BATTERY, bat, "gw-1"),
        Der("bat-full", DerKind.BATTERY, bat, "gw-1"),
        Der("ev-1", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-2"),
        Der("chp-1", DerKind.CHP, DerRatings(0, 50_000, min_stable_w=25_000), "gw-2"),
        Der("stale", DerKind.BATTERY, bat, "gw-2"),
    ]
    readings = {
        "pv-1": Reading("pv-1", NOW, 6_000.0, p_avail_w=7_000.0),
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.5),
        "bat-full": Reading("bat-full", NOW, 0.0, soc=0.95),
        "ev-1": Reading("ev-1", NOW, 0.0, soc=0.3, connected=False),
        "chp-1": Reading("chp-1", NOW, 0.0),
        "stale": Reading("stale", NOW - timedelta(hours=1), 0.0, soc=0.5),
    }
    return ders, readings


def test_envelopes_limit_the_split() -> None:
    ders, readings = fleet()
    result = allocate_fleet(ders, readings, NOW, -3_000.0)
    assert result.status is SolveStatus.OPTIMAL
    assert result.unavailable == ("stale",)
    assert abs(result.total_w + 3_000.0) < 1e-6
    sp = result.setpoints_w
    assert sp["ev-1"] == 0.0  # no car plugged in
    assert sp["bat-full"] >= 0.0  # full battery cannot charge
    assert 0.0 <= sp["pv-1"] <= 7_000.0


def test_unreachable_target_is_a_status_with_the_shortfall() -> None:
    ders, readings = fleet()
    result = allocate_fleet(ders, readings, NOW, 200_000.0)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.binding is not None
    assert abs(result.binding.slack_w - (200_000.0 - result.total_w)) < 1e-6


def test_chp_never_left_inside_its_forbidden_band() -> None:
    ders, readings = fleet()
    result = allocate_fleet(ders, readings, NOW, 25_000.0)
    chp = result.setpoints_w["chp-1"]
    assert chp == 0.0 or chp >= 25_000.0 - 1e-6


def test_commands_pass_the_gateway_rules() -> None:
    ders, readings = fleet()
    result = allocate_fleet(ders, readings, NOW, 4_000.0)
    by_id = {d.der_id: d for d in ders}
    cmds = allocation_commands(
        result, by_id, valid_from=NOW, valid_for=timedelta(seconds=30), seq_of=lambda _: 7
    )
    assert {c.der_id for c in cmds} == set(result.setpoints_w)
    for cmd in cmds:
        assert cmd.p_w == result.setpoints_w[cmd.der_id]
        decision = decide(cmd, by_id[cmd.der_id], 6, NOW)
        assert decision.apply and not decision.clamped
    again = allocation_commands(
        result, by_id, valid_from=NOW, valid_for=timedelta(seconds=30), seq_of=lambda _: 7
    )
    assert [c.command_id for c in again] == [c.command_id for c in cmds]

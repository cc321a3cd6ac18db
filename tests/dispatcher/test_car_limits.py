"""An EV charger that draws less than its rating before the dispatch commands it is taken
at its word: the first allocation gives it no more than its car takes (found out at once,
not a setpoint later while the rest of the plant waits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vpp.application.dispatcher.follow import update_pins
from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState, SentSetpoint
from vpp.domain.der import Der, DerKind, DerRatings
from vpp.domain.telemetry import Reading

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
SLOW_CAR = Der("ev-1", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-1")
FAST_CAR = Der("ev-2", DerKind.EV_CHARGER, DerRatings(-11_000, 0, energy_wh=60_000), "gw-1")
BATTERY = Der("bat-1", DerKind.BATTERY, DerRatings(-5000, 5000, energy_wh=20_000), "gw-1")


def readings(slow_w: float) -> dict[str, Reading]:
    return {
        "ev-1": Reading("ev-1", NOW, slow_w, connected=True),
        "ev-2": Reading("ev-2", NOW, -10_900, connected=True),
        "bat-1": Reading("bat-1", NOW, 0.0, soc=0.5),
    }


def test_an_uncommanded_charger_takes_what_it_draws_no_more() -> None:
    state = LoopState()
    members = [SLOW_CAR, FAST_CAR, BATTERY]
    followers, limits, _ = update_pins(members, readings(-5200), state, DispatcherSettings(), NOW)
    assert [m.der_id for m in followers] == ["ev-1", "ev-2", "bat-1"]
    assert limits["ev-1"] == (-5200, 0)  # its car takes 5.2 kW: the rest goes elsewhere
    assert "ev-2" not in limits  # at its rating (within tolerance): nothing learnt
    assert "bat-1" not in limits


def test_once_commanded_the_charger_is_judged_on_its_setpoint_instead() -> None:
    state = LoopState()
    state.sent["ev-1"] = SentSetpoint(-3000, NOW + timedelta(seconds=20), NOW, "c-1")
    _, limits, _ = update_pins([SLOW_CAR], readings(-3000), state, DispatcherSettings(), NOW)
    assert "ev-1" not in limits  # it draws 3 kW because it was told so, not for its car


def test_a_lapsed_setpoint_counts_as_uncommanded() -> None:
    state = LoopState()
    state.sent["ev-1"] = SentSetpoint(-3000, NOW - timedelta(seconds=1), NOW, "c-1")
    _, limits, _ = update_pins([SLOW_CAR], readings(-7000), state, DispatcherSettings(), NOW)
    assert limits["ev-1"] == (-7000, 0)

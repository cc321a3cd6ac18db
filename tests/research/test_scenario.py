"""A simulated day: the research API plans, steps the real physics and tabulates it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from simulators.physics import DerModel
from vpp.domain import DerKind
from vpp.optimizer.examples import DAY_START, day_price
from vpp.research import ScenarioResult, horizon_problem, mixed_fleet, plot_day, run_day

STEP = timedelta(minutes=30)
T = 48


def profile() -> np.ndarray:
    h = np.arange(T) * 0.5
    return 15_000 * np.exp(-(((h - 19) / 2) ** 2)) - 10_000 * np.exp(-(((h - 12.5) / 2.5) ** 2))


@pytest.fixture(scope="module", params=[False, True], ids=["open-loop", "follow"])
def day(request: pytest.FixtureRequest) -> tuple[ScenarioResult, object]:
    fleet = mixed_fleet(DAY_START, batteries=4, evs=3, pv=3, loads=2, chp=1, seed=2)
    problem = horizon_problem(fleet, DAY_START, STEP, profile(), day_price(T))
    result = run_day(fleet, problem, physics_dt_s=300.0, follow=request.param, progress=None)
    return result, fleet


def test_frames_have_one_row_per_interval_and_der(day: tuple[ScenarioResult, object]) -> None:
    result, fleet = day
    assert len(result.plant) == T
    assert set(result.plant.columns) >= {"target_w", "planned_w", "delivered_w", "deviation_w"}
    assert len(result.ders) == T * len(fleet.models)  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        result.plant["deviation_w"], result.plant["delivered_w"] - result.plant["target_w"]
    )
    per_der_sum = result.ders.groupby("time")["p_w"].sum()
    np.testing.assert_allclose(per_der_sum.to_numpy(), result.plant["delivered_w"].to_numpy())


def test_the_plan_meets_the_target(day: tuple[ScenarioResult, object]) -> None:
    result, _ = day
    assert result.plan.status.has_plan
    np.testing.assert_allclose(result.plant["planned_w"], result.plant["target_w"], atol=1.0)


def test_physics_keeps_state_of_charge_and_delivers_evs(day: tuple[ScenarioResult, object]) -> None:
    result, fleet = day
    models: list[DerModel] = fleet.models  # type: ignore[attr-defined]
    soc = result.soc
    for m in models:
        if m.kind is DerKind.BATTERY:
            assert soc[m.der_id].between(m.ratings.soc_min - 1e-9, m.ratings.soc_max + 1e-9).all()
    for m in models:
        if m.kind is DerKind.EV_CHARGER:
            session = fleet.params[m.der_id]["sessions"][0]  # type: ignore[attr-defined]
            charged = -result.power[m.der_id].clip(upper=0).sum() * 0.5 * m.ratings.eff_charge
            assert charged >= 0.9 * session["energy_wh"]


def test_delivered_follows_target(day: tuple[ScenarioResult, object]) -> None:
    """The physics has response lags, clouds and noise; the plant must still follow the
    target to within a few percent of its peak over the day."""
    result, _ = day
    peak = result.plant["target_w"].abs().max()
    assert result.summary()["max_abs_deviation_kw"] * 1000 < 0.5 * peak
    mean_abs = result.plant["deviation_w"].abs().mean()
    assert mean_abs < 0.1 * peak


def test_plot_day(day: tuple[ScenarioResult, object]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_day(day[0])
    assert len(fig.axes) == 3
    assert isinstance(day[0].power, pd.DataFrame)

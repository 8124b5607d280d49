"""The forecast engine on series with a known signal (real statsforecast models), and the inventory formulas
against hand calculations."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from spark_jobs.forecast import engine, inventory
from spark_jobs.forecast.config import ForecastConfig, parse_models

N = 420
H = 30
START = date(2025, 1, 1)
WEEK = np.array([1.0, 1.1, 1.3, 0.9, 0.7, 1.6, 2.4])


def _batch(series: dict[str, np.ndarray], stockout: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    frames = []
    days = [START + timedelta(days=i) for i in range(N + H)]
    for sid, y in series.items():
        flags = (stockout or {}).get(sid, np.zeros(N, dtype=bool))
        frames.append(
            pd.DataFrame(
                {"series_id": sid, "ds": days[:N], "y": y, "is_stockout": flags, "multiplier": 1.0, "is_future": False}
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "ds": days[N:],
                    "y": np.nan,
                    "is_stockout": False,
                    "multiplier": 1.0,
                    "is_future": True,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def known() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    t = np.arange(N + H)
    truth = {
        "weekly": 20 * WEEK[t % 7],
        "trend": 5 + 0.08 * t,
        "intermittent": np.full(N + H, 0.15 * 3.0),  # P(demand) 0.15, size ~ 1 + Poisson(2)
    }
    y = {
        "weekly": np.round(truth["weekly"][:N] + rng.normal(0, 0.6, N)),
        "trend": truth["trend"][:N] + rng.normal(0, 0.8, N),
        "intermittent": (rng.random(N) < 0.15) * (1 + rng.poisson(2.0, N)).astype(float),
    }
    out = engine.forecast_batch(_batch(y), ForecastConfig())
    return {"out": out, "truth": truth, "y": y}


def _choice(out: pd.DataFrame, sid: str) -> pd.Series:
    return out[(out.kind == "choice") & (out.series_id == sid)].iloc[0]


def _forecast(out: pd.DataFrame, sid: str) -> pd.DataFrame:
    return out[(out.kind == "forecast") & (out.series_id == sid)].sort_values("horizon_day")


def test_weekly_seasonality_gets_a_seasonal_model_and_low_error(known):
    out, truth = known["out"], known["truth"]
    choice = _choice(out, "weekly")
    assert choice.demand_class == "smooth"
    assert choice.model in {"seasonal_naive", "ets", "theta"}
    assert choice.mase < 0.8
    fc = _forecast(out, "weekly")
    ape = np.abs(fc.point.to_numpy() - truth["weekly"][N:]) / truth["weekly"][N:]
    assert ape.mean() < 0.08


def test_trend_gets_a_trend_capable_model(known):
    out, truth = known["out"], known["truth"]
    choice = _choice(out, "trend")
    assert choice.model in {"ets", "theta"}
    fc = _forecast(out, "trend")
    assert abs(fc.point.iloc[-1] - truth["trend"][-1]) / truth["trend"][-1] < 0.08
    assert fc.point.iloc[-1] > fc.point.iloc[0]  # the trend continues: not a flat level


def test_intermittent_series_gets_an_intermittent_model_and_the_right_rate(known):
    out, truth = known["out"], known["truth"]
    choice = _choice(out, "intermittent")
    assert choice.demand_class in {"intermittent", "lumpy"}
    assert choice.adi > 1.32
    assert choice.model in {"croston", "sba", "tsb", "adida", "window_average"}
    fc = _forecast(out, "intermittent")
    assert abs(fc.point.mean() - truth["intermittent"][0]) / truth["intermittent"][0] < 0.5
    sample_rate = known["y"]["intermittent"].mean()  # 0.57 in this draw: a Croston-type level near it
    assert abs(fc.point.mean() - sample_rate) / sample_rate < 0.2


def test_backtest_scores_three_windows_per_model_and_the_seasonal_naive_benchmark(known):
    acc = known["out"][known["out"].kind == "accuracy"]
    weekly = acc[acc.series_id == "weekly"]
    assert set(weekly.window) == {1, 2, 3}
    assert {"seasonal_naive", "ets", "theta", "window_average"} <= set(weekly.model)
    assert (weekly.groupby("model").size() == 3).all()
    assert weekly[["mase", "smape", "coverage80", "coverage95"]].notna().all().all()


def test_intervals_are_nested_and_widen_with_the_horizon(known):
    for sid in ("weekly", "trend", "intermittent"):
        fc = _forecast(known["out"], sid)
        assert (fc.lo95 <= fc.lo80 + 1e-9).all() and (fc.lo80 <= fc.point + 1e-9).all()
        assert (fc.point <= fc.hi80 + 1e-9).all() and (fc.hi80 <= fc.hi95 + 1e-9).all()
        assert (fc.lo95 >= 0).all()
        width = (fc.hi95 - fc.lo95).to_numpy()
        assert width[-1] >= width[0], sid
    trend = _forecast(known["out"], "trend")
    assert (trend.hi95 - trend.lo95).iloc[-1] > (trend.hi95 - trend.lo95).iloc[0]


def test_random_walk_intervals_grow_like_the_square_root_of_the_horizon():
    rng = np.random.default_rng(11)
    walk = 200 + np.cumsum(rng.normal(0, 2, N))
    out = engine.forecast_batch(_batch({"rw": walk}), ForecastConfig(menus={"smooth": ("naive",)}))
    fc = _forecast(out, "rw")
    width = (fc.hi80 - fc.lo80).to_numpy()
    assert np.all(np.diff(width) > 0)
    assert width[-1] / width[0] == pytest.approx(math.sqrt(H), rel=0.05)


def test_a_stockout_period_does_not_drag_the_forecast_down():
    rng = np.random.default_rng(3)
    y = rng.poisson(10, N).astype(float)
    stockout = np.zeros(N, dtype=bool)
    stockout[-25:] = True
    y[-25:] = 0  # no stock, no sales
    cfg = ForecastConfig(menu="fast")
    flagged = engine.forecast_batch(_batch({"s": y}, {"s": stockout}), cfg)
    unflagged = engine.forecast_batch(_batch({"s": y}), cfg)
    assert _forecast(flagged, "s").point.mean() == pytest.approx(10, rel=0.15)
    assert _forecast(unflagged, "s").point.mean() < 7  # read as zero demand, the forecast collapses
    assert _choice(flagged, "s").stockout_days == 25


def test_classification_cutoffs():
    assert engine.classify(np.array([5, 6, 5, 4, 5, 6.0]))[0] == "smooth"
    assert engine.classify(np.array([1, 20, 1, 30, 2, 1.0]))[0] == "erratic"
    assert engine.classify(np.array([0, 0, 3, 0, 0, 3, 0, 0, 3.0]))[0] == "intermittent"
    assert engine.classify(np.array([0, 0, 1, 0, 0, 40, 0, 0, 2.0]))[0] == "lumpy"


def test_impute_stockouts_uses_the_in_stock_days_before():
    y = np.array([4, 6, 4, 6, 0, 0], dtype=float)
    flags = np.array([0, 0, 0, 0, 1, 1], dtype=bool)
    assert engine.impute_stockouts(y, flags).tolist() == [4, 6, 4, 6, 5, 5]


def test_parse_models_and_validation():
    menu, menus = parse_models(["fast", "smooth=ets,arima"])
    cfg = ForecastConfig().with_options(menu=menu, menus=menus)
    assert cfg.menu_for("smooth") == ("ets", "arima")
    assert cfg.menu_for("lumpy") == ForecastConfig().with_options(menu="fast").menu_for("lumpy")
    with pytest.raises(ValueError, match="unknown prophet"):
        ForecastConfig().with_options(menus={"smooth": ("prophet",)})


def test_safety_stock_and_reorder_point_match_a_hand_calculation():
    # z(95%) = 1.6449; L = 10 days (sd 2), demand 5/day (sd 3): SS = 1.6449 * sqrt(10*9 + 25*4) = 22.673
    ss = inventory.safety_stock(1.6448536269514722, 10, 2, 5, 3)
    assert ss == pytest.approx(1.6448536269514722 * math.sqrt(190), rel=1e-12)
    assert ss == pytest.approx(22.673, abs=1e-3)
    assert inventory.reorder_point(10, 5, ss) == pytest.approx(50 + 22.673, abs=1e-3)

    origin = date(2026, 7, 1)
    demand = pd.DataFrame({"sku": "A", "warehouse_code": "DE-LEJ", "ds": pd.date_range(origin, periods=30).date})
    demand["point"], demand["daily_std"] = 5.0, 3.0
    stock = pd.DataFrame(
        [{"sku": "A", "warehouse_code": "DE-LEJ", "qty_available": 40, "qty_inbound": 0, "inbound_eta": None}]
    )
    lead = pd.DataFrame([{"warehouse_code": "DE-LEJ", "lead_time_days": 10.0, "lead_time_std": 2.0}])
    cfg = ForecastConfig()
    plan = inventory.plan(demand, stock, lead, origin, cfg)
    row = plan.iloc[0]
    assert row.safety_stock == pytest.approx(22.673, abs=1e-3)
    assert row.reorder_point == pytest.approx(72.673, abs=1e-3)
    assert row.days_of_cover == pytest.approx(8.0)
    assert row.projected_stockout_date == origin + timedelta(days=8)  # 40 units last 8 days, the 9th runs out
    alerts = inventory.alerts(plan, origin, cfg)
    assert alerts.alert.tolist() == ["stockout_risk"]
    # order up to ROP + 30 days of demand: 72.673 + 150 - 40 = 182.67 -> 183
    assert alerts.suggested_qty.tolist() == [183]
    assert alerts.suggested_action.tolist() == ["transfer_from_origin"]


def test_overstock_and_slow_mover_alerts():
    origin = date(2026, 7, 1)
    demand = pd.DataFrame(
        {
            "sku": ["A"] * 30 + ["B"] * 30,
            "warehouse_code": "US-ONT",
            "ds": list(pd.date_range(origin, periods=30).date) * 2,
        }
    )
    demand["point"] = np.where(demand.sku == "A", 1.0, 0.01)
    demand["daily_std"] = 1.0
    stock = pd.DataFrame(
        [
            {"sku": "A", "warehouse_code": "US-ONT", "qty_available": 200, "qty_inbound": 0, "inbound_eta": None},
            {"sku": "B", "warehouse_code": "US-ONT", "qty_available": 3, "qty_inbound": 0, "inbound_eta": None},
        ]
    )
    lead = pd.DataFrame([{"warehouse_code": "US-ONT", "lead_time_days": 12.0, "lead_time_std": 3.0}])
    cfg = ForecastConfig()
    alerts = inventory.alerts(inventory.plan(demand, stock, lead, origin, cfg), origin, cfg).set_index("sku")
    assert alerts.loc["A", "alert"] == "overstock" and alerts.loc["A", "suggested_qty"] == 110  # 200 - 90 days x 1
    assert alerts.loc["B", "alert"] == "slow_mover" and alerts.loc["B", "suggested_qty"] == 3


def test_poisson_ppf_matches_scipy():
    """The fast Poisson quantile used for intervals is scipy's exactly, from tiny to large means."""
    from scipy import stats

    rng = np.random.default_rng(7)
    mu = np.concatenate([rng.gamma(0.5, scale, 5000) + 1e-9 for scale in (0.01, 0.3, 3.0, 30.0, 3000.0)])
    qs = np.array([0.001, 0.025, 0.1, 0.5, 0.9, 0.975, 0.999])[:, None]
    expected = stats.poisson.ppf(qs, mu)
    got = engine.poisson_ppf(qs, mu)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)

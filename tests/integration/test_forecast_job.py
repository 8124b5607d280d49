"""The forecast gold job end to end on the tiny world: `tiny_warehouse` builds every layer (the job runs in the
gold layer), so these tests read what the build wrote: gold Delta tables, the GX gold checks, the dbt marts."""

from __future__ import annotations

import duckdb
import pytest
from deltalake import DeltaTable

from lakehouse.settings import get_settings
from spark_jobs import GOLD_JOBS
from spark_jobs.forecast.job import TABLES

pytestmark = pytest.mark.integration


def _gold(name: str):
    return DeltaTable(str(get_settings().paths.table("gold", name))).to_pandas()


def test_the_job_is_registered_in_the_gold_layer():
    assert "forecast" in [job.name for job in GOLD_JOBS]


def test_build_writes_every_gold_table(tiny_warehouse):
    for name in TABLES:
        assert DeltaTable.is_deltatable(str(get_settings().paths.table("gold", name))), name
    models = _gold("forecast_models")
    sales = DeltaTable(str(get_settings().paths.table("silver", "daily_sales"))).to_pandas(
        columns=["sku", "market_code", "sales_date"]
    )
    assert len(models) == len(sales[["sku", "market_code"]].drop_duplicates())
    assert models.chosen_model.notna().all()
    assert set(models.demand_class) <= {"smooth", "erratic", "intermittent", "lumpy"}
    forecasts = _gold("forecasts")
    assert (forecasts.groupby(["sku", "market_code"]).size() == 30).all()
    assert forecasts.ds.min() == sales.sales_date.max() + __import__("datetime").timedelta(days=1)
    ordered = (
        (forecasts.lo95 <= forecasts.lo80 + 1e-9)
        & (forecasts.lo80 <= forecasts.point + 1e-9)
        & (forecasts.point <= forecasts.hi80 + 1e-9)
        & (forecasts.hi80 <= forecasts.hi95 + 1e-9)
        & (forecasts.lo95 >= 0)
    )
    assert ordered.all()


def test_aggregates_equal_the_sum_of_their_skus(tiny_warehouse):
    forecasts, aggregates = _gold("forecasts"), _gold("forecast_aggregates")
    totals = aggregates[aggregates.level == "total"].set_index("ds").point
    assert totals.to_dict() == pytest.approx(forecasts.groupby("ds").point.sum().to_dict(), rel=1e-9)
    seller = aggregates[aggregates.level == "seller"].set_index(["key", "ds"]).point
    expected = forecasts.groupby(["seller_id", "ds"]).point.sum()
    expected.index.names = ["key", "ds"]
    assert seller.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy(), rel=1e-9)
    cat = aggregates[aggregates.level == "category_market"]
    assert cat.point.sum() == pytest.approx(forecasts.point.sum(), rel=1e-9)


def test_backtest_and_inventory_tables_are_consistent(tiny_warehouse):
    backtest, models = _gold("forecast_backtest"), _gold("forecast_models")
    assert backtest.window.between(1, 3).all()
    chosen = backtest[backtest.is_chosen].merge(models, on=["sku", "market_code"])
    assert (chosen.model == chosen.chosen_model).all()
    plan, alerts = _gold("inventory_plan"), _gold("inventory_alerts")
    assert len(plan) and (plan.safety_stock >= 0).all() and (plan.reorder_point >= plan.safety_stock - 1e-9).all()
    assert set(alerts.alert) <= {"stockout_risk", "overstock", "slow_mover"}
    assert (alerts.suggested_qty >= 0).all()


def test_gold_quality_gate_passes(tiny_warehouse):
    from expectations import run_checks

    report = run_checks("gold")
    assert report.ok, report.render()
    checked = {r.expectation for r in report.results} if hasattr(report, "results") else set()
    assert not checked or any("forecast" in str(c) for c in checked)


def test_forecast_marts_are_in_the_warehouse(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse), read_only=True)
    try:
        accuracy = con.sql("select demand_class, sum(series) from forecast_accuracy group by 1").fetchall()
        assert accuracy and {c for c, _ in accuracy} <= {"smooth", "erratic", "intermittent", "lumpy"}
        n_forecast = con.sql("select count(*) from fct_demand_forecast where is_forecast").fetchone()[0]
        assert n_forecast == len(_gold("forecasts"))
        assert con.sql("select count(*) from fct_inventory_alerts").fetchone()[0] == len(_gold("inventory_alerts"))
    finally:
        con.close()

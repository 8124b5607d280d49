"""Gold-layer checks of the forecast job's outputs (lake/gold forecasts, forecast_models, forecast_aggregates)."""

from __future__ import annotations

import pandas as pd

from expectations.checks import CheckInputs, metric_frame, register


@register("gold")
def forecast_intervals(inputs: CheckInputs) -> pd.DataFrame:
    """Forecast rows that are negative or whose bounds are not nested (lo95 <= lo80 <= point <= hi80 <= hi95),
    per market."""
    rows = inputs.con.sql(
        """
        select market_code as key,
               count(*) filter (where point < 0 or lo95 < 0 or not (lo95 <= lo80 and lo80 <= point
                   and point <= hi80 and hi80 <= hi95) or point is null) as value,
               any_value(sku) filter (where point < 0 or lo95 > lo80 or lo80 > point or point > hi80
                   or hi80 > hi95) as sample
        from gold.forecasts group by all
        """
    ).df()
    rows["table_name"] = "gold.forecasts"
    return metric_frame(rows, "forecast_intervals")


@register("gold")
def forecast_model_chosen(inputs: CheckInputs) -> pd.DataFrame:
    """Series of silver daily_sales without a chosen model or without a full forecast horizon (one row: the count)."""
    rows = inputs.con.sql(
        """
        with series as (select distinct sku, market_code from silver.daily_sales),
        horizon as (select max(horizon_day) as h from gold.forecasts),
        per_series as (
            select sku, market_code, count(*) as days from gold.forecasts group by all
        )
        select 'all' as key,
               count(*) filter (where m.chosen_model is null or coalesce(p.days, 0) < (select h from horizon))
                   as value,
               any_value(s.sku || ' ' || s.market_code) filter (where m.chosen_model is null) as sample
        from series as s
        left join gold.forecast_models as m using (sku, market_code)
        left join per_series as p using (sku, market_code)
        """
    ).df()
    rows["table_name"] = "gold.forecast_models"
    return metric_frame(rows, "forecast_model_chosen")


@register("gold")
def forecast_aggregates_coherent(inputs: CheckInputs) -> pd.DataFrame:
    """Per aggregation level: largest |aggregate - sum of its SKU forecasts| over keys and days (bottom-up)."""
    rows = inputs.con.sql(
        """
        with sku as (
            select 'seller' as level, seller_id as key, ds, sum(point) as point from gold.forecasts group by all
            union all
            select 'category_market', category || '|' || market_code, ds, sum(point) from gold.forecasts group by all
            union all
            select 'total', 'total', ds, sum(point) from gold.forecasts group by all
        )
        select level as key, max(abs(coalesce(a.point, 0) - coalesce(sku.point, 0))) as value
        from sku full outer join gold.forecast_aggregates as a using (level, key, ds)
        group by level
        """
    ).df()
    rows["table_name"] = "gold.forecast_aggregates"
    return metric_frame(rows, "forecast_aggregates_coherent")

-- One row per category x market x demand class: backtest accuracy of the chosen models against the seasonal
-- naive benchmark (mean MASE, sMAPE, bias) and the chosen models' 80%/95% interval coverage.
with models as (
    select * from {{ source('gold', 'forecast_models') }}
),

chosen_backtest as (
    select
        sku,
        market_code,
        avg(coverage80) as coverage80,
        avg(coverage95) as coverage95
    from {{ source('gold', 'forecast_backtest') }}
    where is_chosen
    group by sku, market_code
)

select
    models.category,
    models.market_code,
    models.demand_class,
    count(*) as series,
    count(models.mase) as backtested_series,
    avg(models.mase) as mase,
    avg(models.seasonal_naive_mase) as seasonal_naive_mase,
    1 - avg(models.mase) / nullif(avg(models.seasonal_naive_mase), 0) as mase_improvement,
    avg(models.smape) as smape,
    avg(models.bias) as bias_units_per_day,
    avg(chosen_backtest.coverage80) as coverage80,
    avg(chosen_backtest.coverage95) as coverage95,
    mode(models.chosen_model) as most_chosen_model
from models
left join chosen_backtest using (sku, market_code)
group by models.category, models.market_code, models.demand_class

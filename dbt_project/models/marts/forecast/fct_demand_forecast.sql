-- One row per SKU x market x day: the last 90 days of actual units (silver daily_sales) and the forecast
-- horizon (gold forecasts) on one axis, for actual-vs-forecast charts with the 80%/95% intervals; the SKU's seller
-- and category for dashboard filters.
with forecasts as (
    select * from {{ source('gold', 'forecasts') }}
),

origin as (
    select min(forecast_origin) as forecast_origin from forecasts
),

actuals as (
    select
        sales.sku,
        sales.market_code,
        sales.sales_date as forecast_date,
        sales.units,
        sales.is_stockout
    from {{ ref('daily_sales') }} as sales
    cross join origin
    where sales.sales_date >= origin.forecast_origin - interval 90 day
        and (sales.sku, sales.market_code) in (select (sku, market_code) from forecasts)
),

joined as (
    select
        coalesce(forecasts.sku, actuals.sku) as sku,
        coalesce(forecasts.market_code, actuals.market_code) as market_code,
        coalesce(forecasts.ds, actuals.forecast_date) as forecast_date,
        forecasts.ds is not null as is_forecast,
        actuals.units as actual_units,
        actuals.is_stockout,
        forecasts.model,
        forecasts.horizon_day,
        forecasts.point as forecast_units,
        forecasts.lo80 as forecast_lo80,
        forecasts.hi80 as forecast_hi80,
        forecasts.lo95 as forecast_lo95,
        forecasts.hi95 as forecast_hi95
    from forecasts
    full outer join actuals
        on actuals.sku = forecasts.sku
        and actuals.market_code = forecasts.market_code
        and actuals.forecast_date = forecasts.ds
)

select
    joined.*,
    products.seller_id,
    products.category
from joined
left join {{ ref('dim_product') }} as products using (sku)

-- One row per calendar day, whole years covering every date in the data (orders, FX, inventory,
-- holiday calendar), with ISO week, month, quarter and year attributes.
with inventory_bounds as materialized (
    -- one pass over the inventory view (its window is computed once, not for the min and again for the max)
    select min(snapshot_date) as first_day, max(snapshot_date) as last_day from {{ ref('stg_bronze__inventory') }}
),

bounds as (
    select min(d) as first_day, max(d) as last_day
    from (
        select min(order_date) as d from {{ ref('int_orders__enriched') }}
        union all select max(order_date) from {{ ref('int_orders__enriched') }}
        union all select max(refund_date) from {{ ref('int_orders__enriched') }}
        union all select min(rate_date) from {{ ref('int_fx_rates__daily') }}
        union all select max(rate_date) from {{ ref('int_fx_rates__daily') }}
        union all select first_day from inventory_bounds
        union all select last_day from inventory_bounds
        union all select min(holiday_date) from {{ ref('stg_bronze__holidays') }}
        union all select max(holiday_date) from {{ ref('stg_bronze__holidays') }}
    )
),

days as (
    select unnest(generate_series(
        date_trunc('year', first_day)::timestamp,
        (date_trunc('year', last_day) + interval 1 year - interval 1 day)::timestamp,
        interval 1 day
    ))::date as date_day
    from bounds
)

select
    date_day,
    isodow(date_day) as day_of_week,
    dayname(date_day) as day_name,
    isodow(date_day) in (6, 7) as is_weekend,
    day(date_day) as day_of_month,
    dayofyear(date_day) as day_of_year,
    date_trunc('week', date_day)::date as week_start_date,
    weekofyear(date_day) as iso_week,
    isoyear(date_day) as iso_year,
    date_trunc('month', date_day)::date as month_start_date,
    month(date_day) as month_of_year,
    monthname(date_day) as month_name,
    strftime(date_day, '%Y-%m') as year_month,
    date_day = last_day(date_day) as is_month_end,
    date_trunc('quarter', date_day)::date as quarter_start_date,
    quarter(date_day) as quarter_of_year,
    year(date_day) || '-Q' || quarter(date_day) as year_quarter,
    year(date_day) as year
from days

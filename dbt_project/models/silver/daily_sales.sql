-- One row per SKU x market x UTC date, from the series' first sale to the last order date of the data,
-- zero days included: units, orders and revenue of orders not cancelled, the stock left at the warehouse
-- that fulfils the SKU in that market, and the market's calendar events. The fulfilling warehouse is the
-- market's overseas warehouse for overseas-stocked SKUs, the seller's origin warehouse otherwise (also
-- for CN-direct markets). is_stockout: that warehouse ended the day with no available stock, so the
-- day's sales may be censored by supply.
{{ config(incremental_column='sales_date') }}
{%- set window_start = incremental_window_start() %}

with lines as (
    select * from {{ ref('order_lines') }}
    where not is_cancelled
),

series as (
    select sku, market_code, min(order_date) as first_sale_date
    from lines
    group by sku, market_code
),

spine as (
    select
        series.sku,
        series.market_code,
        unnest(generate_series(
            {%- if window_start %}
            greatest(series.first_sale_date, {{ window_start }})::timestamp,
            {%- else %}
            series.first_sale_date::timestamp,
            {%- endif %}
            (select max(order_date) from {{ ref('order_lines') }})::timestamp,
            interval 1 day
        ))::date as sales_date
    from series
),

sales as (
    select
        sku,
        market_code,
        order_date as sales_date,
        sum(quantity)::bigint as units,
        count(distinct order_id) as orders,
        sum(line_value_reporting) as revenue_reporting
    from lines
    {% if window_start %} where order_date >= {{ window_start }} {% endif %}
    group by sku, market_code, order_date
),

fulfilment as (
    select
        products.sku,
        markets.market_code,
        products.seller_id,
        case
            when products.is_overseas_stocked and markets.serving_warehouse <> 'CN-direct'
                then markets.serving_warehouse
            else sellers.origin_warehouse
        end as serving_warehouse
    from {{ ref('stg_bronze__products') }} as products
    cross join {{ ref('stg_bronze__markets') }} as markets
    left join {{ ref('stg_bronze__sellers') }} as sellers using (seller_id)
),

inventory as (
    select warehouse_code, sku, snapshot_date, qty_available
    from {{ ref('stg_bronze__inventory') }}
    {#- the spine starts at the window; the filter reaches the Delta scan (a partition key of the view's window) #}
    {% if window_start %} where snapshot_date >= {{ window_start }} {% endif %}
),

events as (
    select
        holidays.market_code,
        holidays.holiday_date,
        bool_or(holidays.holiday_kind = 'public_holiday') as is_holiday,
        bool_or(holidays.holiday_kind = 'sales_event') as is_sales_event,
        bool_or(holidays.holiday_kind = 'season') as is_season,
        product(coalesce(holidays.demand_multiplier, 1)) as demand_multiplier,
        string_agg(holidays.holiday_name, ', ' order by holidays.holiday_name) as event_names
    from {{ ref('stg_bronze__holidays') }} as holidays
    where holidays.holiday_kind <> 'origin_slowdown'
    group by holidays.market_code, holidays.holiday_date
),

origin_slowdowns as (
    select distinct holiday_date
    from {{ ref('stg_bronze__holidays') }}
    where holiday_kind = 'origin_slowdown'
)

select
    spine.sku,
    spine.market_code,
    spine.sales_date,
    fulfilment.seller_id,
    fulfilment.serving_warehouse,
    coalesce(sales.units, 0) as units,
    coalesce(sales.orders, 0) as orders,
    coalesce(sales.revenue_reporting, 0) as revenue_reporting,
    inventory.qty_available as stock_available,
    coalesce(inventory.qty_available = 0, false) as is_stockout,
    coalesce(events.is_holiday, false) as is_holiday,
    coalesce(events.is_sales_event, false) as is_sales_event,
    coalesce(events.is_season, false) as is_season,
    origin_slowdowns.holiday_date is not null as is_origin_slowdown,
    coalesce(events.demand_multiplier, 1.0) as demand_multiplier,
    events.event_names
from spine
left join sales using (sku, market_code, sales_date)
left join fulfilment using (sku, market_code)
left join inventory
    on inventory.warehouse_code = fulfilment.serving_warehouse
    and inventory.sku = spine.sku
    and inventory.snapshot_date = spine.sales_date
left join events
    on events.market_code = spine.market_code and events.holiday_date = spine.sales_date
left join origin_slowdowns
    on origin_slowdowns.holiday_date = spine.sales_date

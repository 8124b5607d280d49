-- fct_orders totals (orders, GMV) equal kpi_daily summed over all rows: no order lost or doubled by the
-- per-fact aggregation and join of the KPI mart.
with facts as (
    select
        count(distinct case when not is_cancelled then order_id end) as orders,
        coalesce(sum(case when not is_cancelled then item_value_reporting end), 0) as gmv_reporting
    from {{ ref('fct_orders') }}
),

mart as (
    select sum(orders) as orders, sum(gmv_reporting) as gmv_reporting from {{ ref('kpi_daily') }}
)

select facts.*, mart.orders as mart_orders, mart.gmv_reporting as mart_gmv_reporting
from facts cross join mart
where facts.orders <> mart.orders
    or abs(facts.gmv_reporting - mart.gmv_reporting) > 0.01

-- Over the whole period seller_daily holds every order, unit, GMV and refund of the facts, per seller
-- (its seller-local days partition them exactly).
with marts as (
    select seller_id, sum(orders) as orders, sum(units) as units, sum(gmv_reporting) as gmv,
        sum(gmv_home) as gmv_home, sum(refunds_reporting) as refunds
    from {{ ref('seller_daily') }}
    group by seller_id
),

orders as (
    select seller_id,
        count(*) filter (where not is_cancelled) as orders,
        coalesce(sum(units) filter (where not is_cancelled), 0) as units,
        coalesce(sum(item_value_reporting) filter (where not is_cancelled), 0) as gmv,
        coalesce(sum(item_value_home) filter (where not is_cancelled), 0) as gmv_home
    from {{ ref('fct_orders') }}
    group by seller_id
),

refunds as (
    select seller_id, sum(refund_amount_reporting) as refunds from {{ ref('fct_returns') }} group by seller_id
)

select marts.seller_id, marts.orders, orders.orders as fact_orders, marts.gmv, orders.gmv as fact_gmv
from marts
full outer join orders using (seller_id)
left join refunds using (seller_id)
where coalesce(marts.orders, 0) <> coalesce(orders.orders, 0)
    or coalesce(marts.units, 0) <> coalesce(orders.units, 0)
    or abs(coalesce(marts.gmv, 0) - coalesce(orders.gmv, 0)) > 1e-6 * greatest(1, abs(orders.gmv))
    or abs(coalesce(marts.gmv_home, 0) - coalesce(orders.gmv_home, 0)) > 1e-6 * greatest(1, abs(orders.gmv_home))
    or abs(coalesce(marts.refunds, 0) - coalesce(refunds.refunds, 0)) > 1e-6 * greatest(1, abs(refunds.refunds))
